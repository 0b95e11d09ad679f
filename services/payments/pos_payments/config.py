from __future__ import annotations

from typing import Literal

from pydantic import model_validator

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
    stripe_api_url: str = "https://api.stripe.com"
    # One provider call: connect and read timeouts (a card reader answers in seconds).
    card_timeout_seconds: float = 4.0
    # Attempts per provider call (connection errors and 5xx only), exponential backoff
    # with jitter between them.
    card_attempts: int = 4
    card_backoff_seconds: float = 0.2
    card_backoff_max_seconds: float = 2.0
    # internal_api_token (ServiceTokenSettings): what other services send as
    # X-POS-Service-Token to reach the payment lookups and the reconcile endpoints without
    # a user (sales' reconciler).

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.card_provider is None:
            self.card_provider = "none" if self.environment == "production" else "sandbox"
        if self.environment == "production":
            if self.card_provider == "sandbox":
                raise ValueError("POS_CARD_PROVIDER=sandbox approves fake cards: use stripe (or none) in production")
            if self.card_provider == "stripe" and not self.stripe_api_key.startswith(("sk_", "rk_")):
                raise ValueError("POS_STRIPE_API_KEY must be a Stripe secret or restricted key")
        return self
