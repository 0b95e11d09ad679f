"""Request and response bodies of the exchange-rate endpoints."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator

from pos_payments.conversion import parse_rate, rate_text
from pos_payments.rates import FeedRate, ManualRate, PairRate
from pos_platform.currencies import currency_problem
from pos_platform.schemas import RequestModel

# The database holds naive UTC; answers say so (RFC 3339 needs the offset).
UtcDateTime = Annotated[datetime, AfterValidator(lambda value: value if value.tzinfo else value.replace(tzinfo=UTC))]


def iso_code(value: str) -> str:
    problem = currency_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class ManualRateIn(RequestModel):
    base: str = Field(max_length=16, description="ISO 4217 code: the currency the rate is for one unit of")
    quote: str = Field(max_length=16, description="ISO 4217 code: the rate is units of this per unit of base")
    rate: str = Field(
        max_length=40, description='units of quote per unit of base, as a decimal string ("1.1650"), never a number'
    )
    reason: str = Field(min_length=3, max_length=200, description="why: kept with the rate for the audit")
    expires_at: datetime | None = Field(
        default=None,
        strict=False,
        description="when the rate stops applying (default: in POS_MANUAL_RATE_DEFAULT_HOURS; at most POS_MANUAL_RATE_MAX_DAYS)",
    )

    @field_validator("rate", mode="before")
    @classmethod
    def _rate_as_text(cls, value: Any) -> Any:
        if isinstance(value, int | float):  # bool is an int
            raise ValueError(
                f'send the rate as a decimal string such as "{value}": a JSON number may be read as a float, which cannot hold a rate exactly'
            )
        return value

    @field_validator("rate")
    @classmethod
    def _rate_is_decimal(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("base", "quote")
    @classmethod
    def _iso(cls, value: str) -> str:
        return iso_code(value)

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value


class ManualRateOut(BaseModel):
    id: int
    base: str
    quote: str
    rate: str
    reason: str
    set_by: str = Field(description="the user id of the manager who set it")
    set_by_name: str
    set_at: UtcDateTime
    expires_at: UtcDateTime
    ended_at: UtcDateTime | None = Field(default=None, description="when a fresh feed rate ended it")
    end_reason: str | None = None

    @classmethod
    def of(cls, manual: ManualRate, end_reason: str | None = None) -> ManualRateOut:
        return cls(**asdict(manual) | {"rate": rate_text(manual.rate), "end_reason": end_reason})


class FeedRateOut(BaseModel):
    rate: str
    source: str
    reference_date: date
    fetched_at: UtcDateTime
    age_days: int
    stale: bool

    @classmethod
    def of(cls, feed: FeedRate) -> FeedRateOut:
        return cls(**asdict(feed) | {"rate": rate_text(feed.rate)})


class RateOut(BaseModel):
    currency: str = Field(description="the quote currency: `rate` units of it per unit of base")
    rate: str | None = Field(description="decimal string; null when there is none")
    source: str | None = Field(description="ecb | sandbox (the feed) | manual | null")
    reference_date: date | None = Field(
        description="the feed's date of the rate (its older leg for a cross rate), or the day a manual rate was set"
    )
    age_days: int | None = Field(description="days from reference_date to today (UTC)")
    stale: bool = Field(description="older than stale_after_days with no manual rate in force")
    usable: bool = Field(description="a foreign tender may use this rate")
    detail: str | None = Field(description="why it is not usable, or which stale rate a manual rate overrides")
    feed: FeedRateOut | None = Field(description="the feed's rate for the pair, fresh or not")
    manual: ManualRateOut | None = Field(description="the manual rate in force, if it is the one used")

    @classmethod
    def of(cls, pair: PairRate) -> RateOut:
        return cls(
            currency=pair.quote,
            rate=rate_text(pair.rate) if pair.rate is not None else None,
            source=pair.source,
            reference_date=pair.reference_date,
            age_days=pair.age_days,
            stale=pair.stale,
            usable=pair.usable,
            detail=pair.detail,
            feed=FeedRateOut.of(pair.feed) if pair.feed else None,
            manual=ManualRateOut.of(pair.manual) if pair.manual else None,
        )


class FeedStatusOut(BaseModel):
    source: str = Field(description="ecb | sandbox | none")
    url: str
    last_attempt_at: UtcDateTime | None
    last_success_at: UtcDateTime | None
    last_reference_date: date | None
    last_error: str | None = Field(description="the last failure's reason (kept after a later success, with its time)")
    last_error_at: UtcDateTime | None
    failures_in_a_row: int


class RatesOut(BaseModel):
    base: str
    as_of: UtcDateTime
    stale_after_days: int
    feed: FeedStatusOut
    rates: list[RateOut]


class RefreshOut(BaseModel):
    source: str
    reference_date: date
    currencies: int = Field(description="rates in the sheet")
    stored: int = Field(description="rates that replaced older ones (0: the sheet was already cached)")
    fetched_at: UtcDateTime
    age_days: int
    stale: bool = Field(description="the sheet itself is older than stale_after_days")
    manual_rates_ended: list[int] = Field(description="ids of manual rates this fresh sheet ended")
