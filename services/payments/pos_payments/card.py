"""The card-provider interface: what the payments service asks of a card processor.

Every call carries an idempotency key chosen by payments. Repeating a call with the
same key never charges or refunds twice, which is what makes an unknown outcome (a
timeout, a 5xx) safe to resolve: repeat the call with the same key and read the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ChargeStatus = Literal["captured", "declined", "unknown", "unreachable"]
RefundStatus = Literal["refunded", "failed", "unknown"]


@dataclass(frozen=True)
class ChargeRequest:
    key: str  # idempotency key: one per tender of a payment
    amount_minor: int
    currency: str
    token: str  # the card as the terminal/tokenizer gave it (a PaymentMethod id)
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeOutcome:
    """captured: the money is taken; declined: nothing was taken (final); unknown: the
    request may have reached the provider but no answer came, so repeat with the same
    key; unreachable: every attempt failed before anything was sent (connection refused,
    connect timeout), so nothing was charged (repeating later with the same key is safe)."""

    status: ChargeStatus
    reference: str | None = None
    decline_code: str | None = None
    message: str = ""


@dataclass(frozen=True)
class RefundRequest:
    key: str
    charge_reference: str  # the provider's reference of the captured charge
    amount_minor: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundOutcome:
    status: RefundStatus
    reference: str | None = None
    message: str = ""


class CardProvider(Protocol):
    name: str

    def default_token(self) -> str | None:
        """The token used when the till sends none (sandbox only), else None."""

    async def charge(self, request: ChargeRequest) -> ChargeOutcome: ...

    async def refund(self, request: RefundRequest) -> RefundOutcome: ...

    async def close(self) -> None: ...


class NoCardProvider:
    """POS_CARD_PROVIDER=none: card tenders are refused before anything is stored."""

    name = "none"

    def default_token(self) -> str | None:
        return None

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        return ChargeOutcome("declined", decline_code="card_unavailable", message="card payments are not set up: take cash")

    async def refund(self, request: RefundRequest) -> RefundOutcome:
        return RefundOutcome("failed", message="card payments are not set up: refund in cash")

    async def close(self) -> None:
        return None
