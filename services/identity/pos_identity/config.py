from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    jwt_private_key_file: str = "var/keys/jwt-private.pem"
    # Short: a disabled user or a changed role is in force when the token next refreshes.
    access_token_ttl_seconds: int = 900
    # A refresh token lives this long unused (a shift); every refresh rotates it ...
    refresh_token_ttl_seconds: int = 12 * 3600
    # ... but a chain of rotations ends this long after the log-in that started it.
    refresh_family_max_seconds: int = 7 * 24 * 3600
    refresh_cookie_name: str = "pos_refresh"
    # None: Secure only in production (the local stack and embedded mode are plain HTTP).
    refresh_cookie_secure: bool | None = None
    # Per-account lockout: this many consecutive wrong passwords lock the account for
    # login_lockout_seconds (a fixed window: attempts while locked do not extend it).
    login_max_failures: int = 10
    login_lockout_seconds: int = 900
    pin_max_failures: int = 5
    pin_lockout_seconds: int = 900
    # A manager's PIN approval is good for this long (and one action).
    approval_ttl_seconds: int = 120
    # Bootstrapped on first start when no user exists. An empty password outside
    # production generates one and writes it to admin_credentials_file.
    admin_email: str = "admin@example.com"
    admin_password: str = ""
    admin_credentials_file: str = "var/admin-credentials.txt"
    default_currency: str = "EUR"

    @property
    def cookie_secure(self) -> bool:
        return self.environment == "production" if self.refresh_cookie_secure is None else self.refresh_cookie_secure
