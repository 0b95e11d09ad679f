from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from pos_platform.schemas import RequestModel

MAX_MINOR = 10**12  # money is integer minor units (cents); strict: no floats, no strings


# Request bodies: pos_platform.schemas.RequestModel (extra fields, strict numbers, no
# control characters).
Strict = RequestModel


class TenderIn(Strict):
    kind: Literal["cash", "card", "foreign_cash"]
    amount_minor: int = Field(
        gt=0, le=MAX_MINOR, strict=True, description="amount applied to the payment (the payment's currency)"
    )
    tendered_minor: int | None = Field(
        default=None, gt=0, le=MAX_MINOR, strict=True, description="cash only: what was handed over (default: amount)"
    )
    card_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_]+$",
        description="card only: the card as the terminal tokenized it (a PaymentMethod id); the sandbox has a default",
    )
    reader_ref: str | None = Field(
        default=None,
        min_length=4,
        max_length=64,
        pattern=r"^[A-Za-z0-9_]+$",
        description="card only: the card reader's reference of a payment taken on it (ADR 0073); payments captures it "
        "at the reader's acquirer. Instead of card_token",
    )
    # foreign_cash only (ADR 0061): sales stamps the rate from GET /api/payments/rates; payments
    # takes the tender only if that is still the rate in force and the amounts follow from it.
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="foreign_cash: the currency handed over")
    foreign_minor: int | None = Field(
        default=None, gt=0, le=MAX_MINOR, strict=True, description="foreign_cash: what was handed over, in `currency`"
    )
    change_minor: int | None = Field(
        default=None, ge=0, le=MAX_MINOR, strict=True, description="foreign_cash: change given, in the payment's currency"
    )
    rate: str | None = Field(
        default=None,
        max_length=40,
        description="foreign_cash: units of `currency` per unit of the payment's currency, a decimal string",
    )
    rate_source: str | None = Field(default=None, max_length=16, description="foreign_cash: ecb | sandbox | manual")
    rate_as_of: str | None = Field(
        default=None, max_length=32, description="foreign_cash: the rate's reference date, or when the manual rate was set"
    )

    @model_validator(mode="after")
    def _check_kind_fields(self) -> TenderIn:
        if self.tendered_minor is not None:
            if self.kind != "cash":
                raise ValueError("tendered_minor is for cash only: leave it out for a card tender")
            if self.tendered_minor < self.amount_minor:
                raise ValueError(f"cash handed over ({self.tendered_minor}) is less than the tender amount ({self.amount_minor})")
        if self.card_token is not None and self.kind != "card":
            raise ValueError("card_token is for card tenders only")
        if self.reader_ref is not None:
            if self.kind != "card":
                raise ValueError("reader_ref is for card tenders only")
            if self.card_token is not None:
                raise ValueError("a card tender has either a card_token or a reader_ref, not both")
        foreign = (self.currency, self.foreign_minor, self.change_minor, self.rate, self.rate_source, self.rate_as_of)
        if self.kind == "foreign_cash":
            if any(v is None for v in foreign):
                raise ValueError(
                    "a foreign_cash tender carries currency, foreign_minor, change_minor, rate, rate_source and rate_as_of"
                )
        elif any(v is not None for v in foreign):
            raise ValueError("currency, foreign_minor, change_minor and rate fields are for foreign_cash tenders only")
        return self


class PaymentIn(Strict):
    payment_id: str = Field(min_length=1, max_length=36, description="chosen by the caller; repeating it is safe")
    sale_id: str = Field(min_length=1, max_length=36)
    outlet_id: str = Field(min_length=1, max_length=36)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount_minor: int = Field(gt=0, le=MAX_MINOR, strict=True)
    tenders: list[TenderIn] = Field(min_length=1, max_length=10)
    taken_at: datetime | None = Field(
        default=None,
        strict=False,
        description="when the money was taken, for a sale a till made offline and synced later (reports count it on that day)",
    )


class ReconcileIn(Strict):
    """What the payment was meant to be: if it was never recorded, it is recorded as
    cancelled, so a late copy of the capture request can no longer take money."""

    sale_id: str = Field(min_length=1, max_length=36)
    outlet_id: str = Field(min_length=1, max_length=36)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount_minor: int = Field(gt=0, le=MAX_MINOR, strict=True)


class TenderOut(BaseModel):
    kind: str
    amount_minor: int
    tendered_minor: int
    change_minor: int
    status: str
    provider_ref: str | None
    decline_code: str | None = None
    refunded_minor: int = 0
    currency: str | None = Field(default=None, description="foreign_cash: the currency handed over")
    foreign_minor: int | None = Field(default=None, description="foreign_cash: what was handed over, in `currency`")
    rate: str | None = Field(
        default=None, description="foreign_cash: the stamped rate, units of `currency` per unit of the payment's currency"
    )
    rate_source: str | None = None
    rate_as_of: str | None = None


class PaymentOut(BaseModel):
    payment_id: str
    sale_id: str
    outlet_id: str
    currency: str
    amount_minor: int
    status: str = Field(
        description="pending | unsent (the card processor could not be reached: nothing charged) | captured | declined | cancelled | refunded"
    )
    tenders: list[TenderOut]
    change_minor: int
    refunded_minor: int = 0
    decline_code: str | None = None
    detail: str | None = None


class RefundTenderIn(Strict):
    kind: Literal["cash", "card"]
    amount_minor: int = Field(gt=0, le=MAX_MINOR, strict=True)


class RefundIn(Strict):
    refund_id: str = Field(min_length=1, max_length=36, description="chosen by the caller; repeating it is safe")
    payment_id: str = Field(min_length=1, max_length=36)
    outlet_id: str = Field(min_length=1, max_length=36)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tenders: list[RefundTenderIn] = Field(
        min_length=1, max_length=10, description="card: back to the card(s) of the payment; cash: from the drawer"
    )


class RefundTenderOut(BaseModel):
    kind: str
    amount_minor: int
    status: str
    provider_ref: str | None


class RefundOut(BaseModel):
    refund_id: str
    payment_id: str
    sale_id: str
    outlet_id: str
    currency: str
    amount_minor: int
    status: str = Field(description="pending | refunded | failed")
    detail: str | None
    tenders: list[RefundTenderOut]
