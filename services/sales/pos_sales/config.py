from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from pos_platform.mail import SmtpSettings
from pos_platform.settings import ServiceTokenSettings
from pos_sales.domain import RoundingMode


class Settings(ServiceTokenSettings, SmtpSettings):
    # The synchronous hops of checkout (the till waits for both).
    inventory_url: str = "http://127.0.0.1:8080"
    payments_url: str = "http://127.0.0.1:8080"
    http_timeout_seconds: float = 5.0
    # A card payment may take a while (the provider retries timeouts and 5xx).
    payments_timeout_seconds: float = 30.0
    # POS_RATES_STALE_AFTER_DAYS, as payments reads it: an offline sale's foreign cash at
    # a rate older than this when it was sold is recorded and listed (foreign_cash_stale_rate).
    rates_stale_after_days: int = Field(default=3, ge=0, le=3650)
    # internal_api_token (ServiceTokenSettings): sent as X-POS-Service-Token when sales
    # acts with no user at hand (the reconciler); inventory and payments hold the same.

    # Pricing defaults for outlets that have not saved their own settings
    # (PUT /api/sales/outlets/{id}/settings).
    tax_rates_bp: dict[str, int] = {"standard": 2000, "reduced": 500, "zero": 0}
    prices_include_tax: bool = True
    rounding_mode: RoundingMode = "half_up"
    cash_rounding_minor: int = 0
    discount_approval_bp: int = 2000
    default_currency: str = "EUR"

    # Tax (issue 16, ADR 0064): `builtin` is the outlet's rate table (the default: works
    # offline, no hop); `external` asks a tax calculation API at POS_TAX_API_URL for
    # every quote (and a checkout that brings no quote), and falls back to the table,
    # marking the sale "tax estimated", when it does not answer within the timeout.
    # An outlet may choose for itself (its settings' `tax_provider`).
    tax_provider: Literal["builtin", "external"] = "builtin"
    tax_api_url: str = ""  # e.g. https://tax.example.com (POST <url>/v1/tax/calculations)
    tax_api_key: SecretStr = SecretStr("")  # sent as "Authorization: Bearer <key>"
    # The till waits at most this long for the API, retries included.
    tax_timeout_seconds: float = Field(default=0.8, gt=0, le=10)
    # One quick retry (connection refused, 5xx, 429) if time is left; a timed-out
    # attempt is not retried (the budget is spent).
    tax_attempts: int = Field(default=2, ge=1, le=2)
    tax_backoff_seconds: float = Field(default=0.05, ge=0, le=1)
    # A quote's tax is signed and handed to the till; the sale charges exactly it if the
    # cart is unchanged and the quote younger than this (else 409 tax_quote_stale).
    tax_quote_ttl_seconds: int = Field(default=900, ge=10, le=86_400)
    # The quote's signing key ("": derived from POS_INTERNAL_API_TOKEN, which every
    # sales replica shares).
    tax_quote_secret: SecretStr = SecretStr("")

    # Recovery: a sale or refund still PENDING this long after it began is finished or
    # failed by asking payments (longer than a checkout can take: timeouts + retries).
    reconcile_after_seconds: float = 45.0
    reconcile_interval_seconds: float = 5.0

    # Offline syncs yield to the tills selling now: at most this many
    # POST /api/sales/offline are recorded at once per process (0: no limit); one that
    # waits longer than offline_sync_wait_seconds for its turn is answered 429 with
    # Retry-After, and the till sends it again then (its queue keeps it meanwhile).
    offline_sync_slots: int = 1
    offline_sync_wait_seconds: float = 10.0
    offline_sync_retry_after_seconds: int = 5

    # Receipts by e-mail (POST /api/sales/{id}/email): an SMTP server, POS_SMTP_*
    # (pos_platform.mail.SmtpSettings; docs/checkout.md).

    @model_validator(mode="after")
    def _tax_api_named(self) -> Settings:
        if self.tax_provider == "external" and not self.tax_api_url:
            raise ValueError("POS_TAX_PROVIDER=external needs POS_TAX_API_URL (the tax calculation API)")
        if self.tax_api_url and not self.tax_api_url.startswith(("http://", "https://")):
            raise ValueError(f"POS_TAX_API_URL must be an http(s) URL, not {self.tax_api_url!r}")
        return self

    # Test-only fault: exit the process right after a payment is captured and before the
    # sale is completed (the crash test). Ignored in production.
    fault_crash_after_capture: bool = False
