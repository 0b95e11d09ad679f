from pydantic import field_validator

from pos_platform.currencies import currency_problem
from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Reports: the shared settings, how often the sales velocity behind days of cover is
    worked out (POS_VELOCITY_REFRESH_SECONDS, 0: never; POS_VELOCITY_DAYS), and where the
    chain total of several currencies comes from (ADR 0072): the chain's base currency
    (POS_CHAIN_CURRENCY) and payments' rates (POS_PAYMENTS_URL, read with the caller's
    token, at most POS_REPORTS_RATES_TIMEOUT_SECONDS, kept POS_REPORTS_RATES_CACHE_SECONDS)."""

    velocity_refresh_seconds: float = 300.0
    velocity_days: int = 28
    chain_currency: str = "EUR"
    payments_url: str = "http://127.0.0.1:8080"
    reports_rates_timeout_seconds: float = 2.0
    reports_rates_cache_seconds: float = 60.0

    @field_validator("chain_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        problem = currency_problem(value)
        if problem:
            raise ValueError(f"POS_CHAIN_CURRENCY: {problem}")
        return value
