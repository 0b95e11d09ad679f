from __future__ import annotations

from pos_platform.settings import ServiceTokenSettings


class Settings(ServiceTokenSettings):
    # The synchronous hops of checkout (the till waits for both).
    inventory_url: str = "http://127.0.0.1:8080"
    payments_url: str = "http://127.0.0.1:8080"
    http_timeout_seconds: float = 5.0
    # A card payment may take a while (the provider retries timeouts and 5xx).
    payments_timeout_seconds: float = 30.0
    # internal_api_token (ServiceTokenSettings): sent as X-POS-Service-Token when sales
    # acts with no user at hand (the reconciler); inventory and payments hold the same.

    # Pricing defaults for outlets that have not saved their own settings
    # (PUT /api/sales/outlets/{id}/settings).
    tax_rates_bp: dict[str, int] = {"standard": 2000, "reduced": 500, "zero": 0}
    prices_include_tax: bool = True
    rounding_mode: str = "half_up"
    cash_rounding_minor: int = 0
    discount_approval_bp: int = 2000
    default_currency: str = "EUR"

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

    # Test-only fault: exit the process right after a payment is captured and before the
    # sale is completed (the crash test). Ignored in production.
    fault_crash_after_capture: bool = False
