from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    # The synchronous hops of checkout (the till waits for both).
    inventory_url: str = "http://127.0.0.1:8080"
    payments_url: str = "http://127.0.0.1:8080"
    http_timeout_seconds: float = 5.0
    # Tax: rates per class in basis points; shelf prices include tax by default.
    tax_rates_bp: dict[str, int] = {"standard": 2000, "reduced": 500, "zero": 0}
    prices_include_tax: bool = True
