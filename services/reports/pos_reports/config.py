from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Reports needs only the shared settings."""
