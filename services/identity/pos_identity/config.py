from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    jwt_private_key_file: str = "var/keys/jwt-private.pem"
    access_token_ttl_seconds: int = 900
    # Bootstrapped on first start when no user exists. An empty password outside
    # production generates one and writes it to admin_credentials_file.
    admin_email: str = "admin@example.com"
    admin_password: str = ""
    admin_credentials_file: str = "var/admin-credentials.txt"
    default_currency: str = "EUR"
