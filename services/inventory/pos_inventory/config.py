from pos_platform.settings import ServiceTokenSettings


class Settings(ServiceTokenSettings):
    # internal_api_token (ServiceTokenSettings): sales' reconciler releases the
    # reservation of a sale it cancelled with it (X-POS-Service-Token).
    # A checkout that crashed never holds stock longer than this.
    reservation_ttl_seconds: int = 300
    reservation_sweep_interval: float = 15.0
    # Live stock stream (SSE): how often each replica reads an outlet's new ledger rows,
    # how long a late-committing row is still picked up, keep-alive comments, and when
    # a stream ends (the client reconnects with Last-Event-ID).
    stream_poll_seconds: float = 0.3
    stream_settle_seconds: float = 10.0
    stream_keepalive_seconds: float = 15.0
    stream_max_seconds: float = 300.0
