from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    # A checkout that crashed never holds stock longer than this.
    reservation_ttl_seconds: int = 300
    reservation_sweep_interval: float = 15.0
