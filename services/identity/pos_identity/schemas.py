from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from pos_platform.currencies import currency_problem
from pos_platform.schemas import RequestModel

Role = Literal["cashier", "manager", "admin"]
# The same list as pos_platform.auth.APPROVAL_ACTIONS (a Literal needs it spelt out).
ApprovalAction = Literal["refund", "void", "no_sale", "discount", "price_override"]

Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Pin = Annotated[str, StringConstraints(min_length=4, max_length=8, pattern=r"^[0-9]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# The database holds naive UTC; answers say so (RFC 3339 needs the offset).
UtcDateTime = Annotated[datetime, AfterValidator(lambda value: value if value.tzinfo else value.replace(tzinfo=UTC))]


# Request bodies: pos_platform.schemas.RequestModel (extra fields, strict numbers, no
# control characters).
Strict = RequestModel


class LoginRequest(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: Password


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    outlets: list[str]
    active: bool
    has_pin: bool = False
    locked_until: UtcDateTime | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserOut


class OutletIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(
        default="EUR", max_length=16, description="an ISO 4217 currency code (GET /api/identity/currencies lists them)"
    )
    timezone: str = Field(default="UTC", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        problem = currency_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class OutletUpdate(Strict):
    # The currency is fixed once prices and sales exist in it.
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")


class OutletOut(BaseModel):
    id: str
    name: str
    currency: str
    timezone: str


class CurrencyOut(BaseModel):
    code: str = Field(description="ISO 4217 alphabetic code")
    name: str = Field(description="ISO 4217's English name")
    numeric: int = Field(description="ISO 4217 numeric code")
    minor_units: int = Field(
        description="digits after the decimal point: amounts are integers of 10^-minor_units (JPY 0, EUR 2, KWD 3)"
    )
    cash_unit_minor: int = Field(description="the smallest amount paid in cash, in minor units (CHF 5 = 0.05, SEK 100 = 1 krona)")


class CurrencyList(BaseModel):
    iso_table_published: str = Field(description="publication date of the ISO 4217 list these come from")
    currencies: list[CurrencyOut]


class RegisterIn(Strict):
    outlet_id: Id
    name: str = Field(min_length=1, max_length=100)
    number: int | None = Field(
        default=None,
        ge=1,
        le=999,
        description="the register's number in its outlet, printed in its receipt numbers; the next free one if left out",
    )


class RegisterUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool | None = None


class RegisterOut(BaseModel):
    id: str
    outlet_id: str
    number: int
    name: str
    active: bool


class UserIn(Strict):
    email: Email
    name: str = Field(min_length=1, max_length=200)
    password: Password
    role: Role
    outlets: list[str] = Field(default=[], max_length=500)
    pin: Pin | None = None


class UserUpdate(Strict):
    """Admin changes. A role or outlet change is in the user's token by its next refresh;
    disabling revokes every refresh token at once."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    outlets: list[str] | None = Field(default=None, max_length=500)
    active: bool | None = None
    password: Password | None = None
    pin: Pin | None = None


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class PinChange(Strict):
    current_password: Password
    pin: Pin


class StaffOut(BaseModel):
    id: str
    name: str
    role: Role
    has_pin: bool


class SwitchRequest(Strict):
    """Quick cashier switch at a till: the next cashier's PIN, within the till's session."""

    outlet_id: Id
    user_id: Id
    pin: Pin


class ApprovalRequest(Strict):
    action: ApprovalAction
    outlet_id: Id
    approver_id: Id
    pin: Pin
    # What is approved, e.g. the sale id of a refund or void (bound into the token).
    subject: str | None = Field(default=None, min_length=1, max_length=64)
    amount_minor: int | None = Field(default=None, ge=0, le=10**12)
    reason: str | None = Field(default=None, max_length=200)


class ApprovalOut(BaseModel):
    approval_token: str
    expires_in: int
    action: ApprovalAction
    outlet_id: str
    subject: str | None
    approver: StaffOut


class AuditEntryOut(BaseModel):
    seq: int
    at: UtcDateTime
    service: str
    action: str
    outcome: str
    actor_id: str | None
    actor_email: str | None
    actor_role: str | None
    target_type: str | None
    target_id: str | None
    outlet_id: str | None
    source_ip: str | None
    request_id: str | None
    details: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_after_seq: int | None


class AuditVerdictOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    broken_seq: int | None
    reason: str
    # The entry at the break as stored now ("seq 17 sales sale.refunded sale <id> at ..."),
    # empty when the chain is whole.
    record: str = ""
    # What `python -m pos_identity.audit verify` prints.
    message: str = ""
