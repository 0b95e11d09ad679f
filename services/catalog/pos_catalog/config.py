from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    currency: str = "EUR"
