from pos_platform.mail import SmtpSettings
from pos_platform.settings import ServiceTokenSettings


class Settings(ServiceTokenSettings, SmtpSettings):
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

    # The daily low-stock digest (ADR 0069), mailed through the SMTP server of
    # POS_SMTP_* (pos_platform.mail.SmtpSettings). Every replica looks for due digests
    # this often (0: never; the digest table's claim makes one replica send each).
    digest_check_seconds: float = 60.0
    # A replica that claimed a digest holds it this long (more than a send with its
    # retries can take); after that another replica may take it over.
    digest_lease_seconds: float = 600.0
    # A digest the mail server did not take is tried again after 1, 2, 4 ... minutes,
    # at most this long apart (the same local day only).
    digest_retry_max_seconds: float = 1800.0
    # The address staff open the web app at: the digest links to its Low stock page.
    public_url: str = "http://localhost:8080"
