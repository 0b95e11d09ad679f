from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Payments needs only the shared settings for now (a card provider's will come here)."""
