from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Reports: the shared settings, and how often the sales velocity behind days of
    cover is worked out (POS_VELOCITY_REFRESH_SECONDS, 0: never; POS_VELOCITY_DAYS)."""

    velocity_refresh_seconds: float = 300.0
    velocity_days: int = 28
