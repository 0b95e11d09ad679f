from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from pos_payments.ecb import ECB_DAILY_URL
from pos_platform.settings import ServiceTokenSettings


class Settings(ServiceTokenSettings):
    """Payments settings. Card payments go through one provider (docs/checkout.md):

    - `sandbox` (default): the project's own Stripe-like card processor. With
      `card_sandbox_url` empty it runs inside this process (embedded mode, unit tests);
      the local stack runs it as its own process (`python -m pos_payments.sandbox`).
    - `stripe`: Stripe's REST API (PaymentIntents), key in `stripe_api_key`.
    - `none`: card tenders are refused (cash only).

    Unset, it is `sandbox`, except in production, where it is `none`.
    """

    card_provider: Literal["sandbox", "stripe", "none"] | None = None
    card_sandbox_url: str = ""
    # What a card tender without a token is charged with (a terminal that always
    # approves); only the sandbox has one.
    card_sandbox_default_card: str = "pm_card_visa"
    stripe_api_key: str = ""
    # Card readers on the shops' LANs (ADR 0073): a card tender the till took on the
    # reader carries the reader's reference, which payments captures at the reader's
    # acquirer. `sandbox` (default outside production): the reader sandbox's acquirer,
    # in this process with `card_reader_acquirer_url` empty, else at that URL
    # (`python -m pos_payments.reader_sandbox`); `none` (default in production: no real
    # acquirer adapter is built yet): reader tenders are refused.
    card_reader: Literal["sandbox", "none"] | None = None
    card_reader_acquirer_url: str = ""
    stripe_api_url: str = "https://api.stripe.com"
    # One provider call: connect and read timeouts (a card reader answers in seconds).
    card_timeout_seconds: float = 4.0
    # Attempts per provider call (connection errors and 5xx only), exponential backoff
    # with jitter between them.
    card_attempts: int = 4
    card_backoff_seconds: float = 0.2
    card_backoff_max_seconds: float = 2.0

    # Exchange rates (docs/currency-tax.md, ADR 0060): where they come from
    # - `ecb`: the European Central Bank's daily reference rates at `rates_ecb_url`;
    # - `sandbox` (default outside production): the project's rates sandbox serving the
    #   same document, in this process with `rates_sandbox_url` empty, else at that URL;
    # - `none`: no feed, manual rates only.
    rates_provider: Literal["ecb", "sandbox", "none"] | None = None
    rates_ecb_url: str = ECB_DAILY_URL
    rates_sandbox_url: str = ""
    # One fetch: per-attempt timeout, attempts, exponential backoff with jitter between them.
    rates_timeout_seconds: float = 5.0
    rates_attempts: int = 4
    rates_backoff_seconds: float = 0.5
    rates_backoff_max_seconds: float = 8.0
    # The background refresh: every so many seconds (0: none; POST .../rates/refresh still works).
    rates_refresh_interval_seconds: float = 3600.0
    # A feed rate older than this many days (reference date to today, UTC) is stale: the
    # ECB publishes on TARGET working days only, so Friday's rate is 3 days old on Monday.
    rates_stale_after_days: int = 3
    # A manual rate lasts this long unless the manager says otherwise, and never longer than the maximum.
    manual_rate_default_hours: float = 24.0
    manual_rate_max_days: int = 31
    # internal_api_token (ServiceTokenSettings): what other services send as
    # X-POS-Service-Token to reach the payment lookups and the reconcile endpoints without
    # a user (sales' reconciler).

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.card_provider is None:
            self.card_provider = "none" if self.environment == "production" else "sandbox"
        if self.rates_provider is None:
            self.rates_provider = "ecb" if self.environment == "production" else "sandbox"
        if self.card_reader is None:
            self.card_reader = "none" if self.environment == "production" else "sandbox"
        if self.environment == "production":
            if self.card_provider == "sandbox":
                raise ValueError("POS_CARD_PROVIDER=sandbox approves fake cards: use stripe (or none) in production")
            if self.card_reader == "sandbox":
                raise ValueError("POS_CARD_READER=sandbox captures fake reader payments: use none in production")
            if self.rates_provider == "sandbox":
                raise ValueError("POS_RATES_PROVIDER=sandbox serves made-up exchange rates: use ecb (or none) in production")
            if self.card_provider == "stripe" and not self.stripe_api_key.startswith(("sk_", "rk_")):
                raise ValueError("POS_STRIPE_API_KEY must be a Stripe secret or restricted key")
        return self
