"""An outlet's tax rates per tax class with the date each starts (ADR 0066): list them,
schedule a new rate (a change announced for 1 January is entered in December), cancel one
that has not started. A rate starts at the outlet's local midnight of its date; the sale
uses the rate in effect when it is sold (an offline sale: at its sold_at, on the till)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.audit import record_audit
from pos_platform.auth import CurrentUser, Manager, Principal, ensure_outlet
from pos_platform.db import UnitOfWork, utcnow
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet
from pos_sales import outlet_policy
from pos_sales.config import Settings
from pos_sales.domain import bp_to_percent
from pos_sales.outlet_policy import OutletSettings
from pos_sales.tables import outlet_settings, outlet_tax_rates

router = APIRouter(prefix="/api/sales", tags=["tax rates"])


class TaxRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_class: str = Field(min_length=1, max_length=32, description="one of the outlet's tax classes (standard, reduced, ...)")
    rate: str = Field(
        max_length=12,
        description='the rate in percent as a decimal string, at most two decimals: "21", "5.5", "20.00" (a number is refused)',
    )
    effective_from: date = Field(description="the first day of the rate, at the outlet (local midnight); today or later")


class ScheduledRateOut(BaseModel):
    tax_class: str
    effective_from: date
    starts_at: str = Field(description="the outlet's local midnight of effective_from, in UTC (ISO 8601, Z)")
    rate_bp: int = Field(description="basis points: 2100 = 21 %")
    rate: str = Field(description='percent, two decimals: "21.00"')
    started: bool = Field(description="in effect now (or replaced by a later one that is)")
    set_by: str
    set_by_name: str
    set_at: str


class TaxClassOut(BaseModel):
    tax_class: str
    rate_bp: int = Field(description="the rate in effect now, basis points")
    rate: str = Field(description="the rate in effect now, percent")
    since: date | None = Field(description="the date the rate in effect started (null: set without a date)")
    next: ScheduledRateOut | None = Field(description="the next rate to start, if one is scheduled")


class TaxRatesOut(BaseModel):
    outlet_id: str
    timezone: str = Field(description="the outlet's time zone: dates are its local dates")
    timezone_from_identity: bool = Field(
        default=False,
        description="the zone is identity's outlet's (set there: OutletCreated/OutletChanged); false: the settings' own, "
        "until identity announces one (ADR 0072)",
    )
    today: date = Field(description="the date at the outlet now")
    prices_include_tax: bool = Field(description="shelf prices include tax (true) or tax is added on top (false)")
    tax_provider: str = Field(description="default, builtin or external (an external API's outlet uses these rates as fallback)")
    default_tax_provider: str = Field(default="builtin", description="what `default` means here: POS_TAX_PROVIDER")
    tax_api_configured: bool = Field(default=False, description="whether a tax API URL is set (POS_TAX_API_URL)")
    tax_address: outlet_policy.TaxAddress | None = Field(default=None, description="the outlet's address for the tax API")
    classes: list[TaxClassOut]
    schedule: list[ScheduledRateOut] = Field(description="every scheduled rate (started or not), by class and date")


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def _iso(moment: Any) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def _view(uow: UnitOfWork, outlet_id: str, ctx: ServiceContext) -> TaxRatesOut:
    now = utcnow()
    policy = outlet_policy.load(uow, outlet_id, ctx.settings, at=now)
    today = policy.local_date(now)
    rows = outlet_policy.schedule_rows(uow, outlet_id)
    schedule = [
        ScheduledRateOut(
            tax_class=row.tax_class,
            effective_from=row.effective_from,
            starts_at=_iso(policy.starts_at(row.effective_from)),
            rate_bp=row.rate_bp,
            rate=bp_to_percent(row.rate_bp),
            started=policy.starts_at(row.effective_from) <= now,
            set_by=row.set_by,
            set_by_name=row.set_by_name,
            set_at=_iso(row.set_at),
        )
        for row in rows
        if row.tax_class in policy.tax_rates_bp
    ]
    classes = []
    for tax_class in sorted(policy.tax_rates_bp):
        mine = [e for e in schedule if e.tax_class == tax_class]
        started = [e for e in mine if e.started]
        upcoming = [e for e in mine if not e.started]
        rate_bp = policy.tax_rates_bp[tax_class]
        classes.append(
            TaxClassOut(
                tax_class=tax_class,
                rate_bp=rate_bp,
                rate=bp_to_percent(rate_bp),
                since=started[-1].effective_from if started else None,
                next=upcoming[0] if upcoming else None,
            )
        )
    return TaxRatesOut(
        outlet_id=outlet_id,
        timezone=policy.timezone,
        today=today,
        prices_include_tax=policy.prices_include_tax,
        tax_provider=policy.tax_provider,
        timezone_from_identity=outlet_policy.identity_outlet(uow, outlet_id) is not None,
        default_tax_provider=ctx.settings.tax_provider,
        tax_api_configured=bool(ctx.settings.tax_api_url),
        tax_address=policy.tax_address,
        classes=classes,
        schedule=schedule,
    )


# A percentage as people write it: digits, an optional point and decimals, maybe a minus
# (refused below with its own words). Decimal alone would take "1_0", "1e1", "Infinity".
_RATE = re.compile(r"\s*-?\d{1,4}(\.\d+)?\s*")
# Rates are scheduled at most this far ahead (a date past it is more likely a typo).
MAX_YEARS_AHEAD = 10


def rate_bp_of(rate: str) -> int:
    """A percentage string in whole basis points, or HTTP 422 saying what is wrong."""
    try:
        value = Decimal(rate.strip()) if _RATE.fullmatch(rate) else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f'rate {rate!r} is not a number: give a percentage like "21" or "5.5"'
        )
    if value < 0:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"rate {rate} % is negative: a tax rate is 0 % to 100 %")
    if value > 100:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"rate {rate} % is over 100 %: a tax rate is 0 % to 100 %")
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"rate {rate} % has more than two decimals: rates are kept in basis points (0.01 %)",
        )
    return int(scaled)


@router.get("/outlets/{outlet_id}/tax-rates", response_model=TaxRatesOut)
def get_tax_rates(outlet_id: str, principal: CurrentUser, request: Request) -> TaxRatesOut:
    """Each tax class's rate in effect now, since when, and the next one scheduled; every
    scheduled rate with the UTC instant it starts (what the till prices offline by).
    Any staff of the outlet may read them."""
    ensure_outlet(principal, outlet_id)
    ctx = _ctx(request)
    with ctx.db.transaction() as uow:
        return _view(uow, outlet_id, ctx)


@router.post(
    "/outlets/{outlet_id}/tax-rates",
    response_model=TaxRatesOut,
    status_code=status.HTTP_201_CREATED,
    responses=unprocessable(
        "an unknown tax class, a rate below 0 % or above 100 % or with more than two decimals, a past date, "
        "or a rate already scheduled for that class and date"
    ),
)
def schedule_tax_rate(outlet_id: str, body: TaxRateIn, principal: Manager, request: Request) -> TaxRatesOut:
    """Schedule a tax class's rate from a date on (today: it applies to the next sale).
    Managers of the outlet and admins; audited (`outlet.tax_rate_scheduled`)."""
    ctx = _ctx(request)
    ensure_known_outlet(ctx.db, principal, outlet_id)
    rate_bp = rate_bp_of(body.rate)
    try:
        with ctx.db.transaction() as uow:
            policy = outlet_policy.load(uow, outlet_id, ctx.settings)
            _check(uow, outlet_id, policy, body)
            stored = uow.session.scalar(select(outlet_settings.c.outlet_id).where(outlet_settings.c.outlet_id == outlet_id))
            if stored is None:
                # The defaults become the outlet's settings: the schedule is read with them.
                outlet_policy.save(uow, outlet_id, policy, principal.user_id)
            uow.session.execute(
                outlet_tax_rates.insert().values(
                    outlet_id=outlet_id,
                    tax_class=body.tax_class,
                    effective_from=body.effective_from,
                    rate_bp=rate_bp,
                    set_by=principal.user_id,
                    set_by_name=(principal.name or principal.email or principal.user_id)[:200],
                    set_at=utcnow(),
                )
            )
            _audit(
                uow,
                "outlet.tax_rate_scheduled",
                outlet_id,
                policy,
                body.tax_class,
                body.effective_from,
                rate_bp,
                principal,
                request,
            )
            return _view(uow, outlet_id, ctx)
    except IntegrityError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _duplicate(body.tax_class, body.effective_from)) from None


def _duplicate(tax_class: str, day: date) -> str:
    return (
        f"{tax_class} already has a rate from {day.isoformat()}: cancel that one first "
        f"(DELETE .../tax-rates/{tax_class}/{day.isoformat()}), then schedule the new rate"
    )


def _check(uow: UnitOfWork, outlet_id: str, policy: OutletSettings, body: TaxRateIn) -> None:
    if body.tax_class not in policy.tax_rates_bp:
        known = ", ".join(sorted(policy.tax_rates_bp)) or "none"
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown tax class {body.tax_class!r}: the outlet's tax classes are {known} "
            "(a new class is added in the outlet's settings)",
        )
    today = policy.local_date(utcnow())
    if body.effective_from < today:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"effective_from {body.effective_from.isoformat()} is in the past: today at the outlet is "
            f"{today.isoformat()} ({policy.timezone}); a rate can start today or later",
        )
    if body.effective_from > today.replace(year=today.year + MAX_YEARS_AHEAD, day=min(today.day, 28)):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"effective_from {body.effective_from.isoformat()} is more than {MAX_YEARS_AHEAD} years ahead: check the year",
        )
    key = (
        (outlet_tax_rates.c.outlet_id == outlet_id)
        & (outlet_tax_rates.c.tax_class == body.tax_class)
        & (outlet_tax_rates.c.effective_from == body.effective_from)
    )
    if uow.session.scalar(select(outlet_tax_rates.c.rate_bp).where(key)) is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _duplicate(body.tax_class, body.effective_from))


def _audit(
    uow: UnitOfWork,
    action: str,
    outlet_id: str,
    policy: OutletSettings,
    tax_class: str,
    day: date,
    rate_bp: int,
    principal: Principal,
    request: Request,
) -> None:
    record_audit(
        uow,
        action,
        actor=principal,
        request=request,
        target_type="outlet_tax_rate",
        target_id=f"{outlet_id}/{tax_class}/{day.isoformat()}",
        outlet_id=outlet_id,
        details={
            "tax_class": tax_class,
            "effective_from": day.isoformat(),
            "rate_bp": rate_bp,
            "rate": bp_to_percent(rate_bp),
            "rate_in_effect_bp": policy.tax_rates_bp.get(tax_class),
            "timezone": policy.timezone,
        },
    )


@router.delete(
    "/outlets/{outlet_id}/tax-rates/{tax_class}/{effective_from}",
    response_model=TaxRatesOut,
    responses={**errors({404: "no rate scheduled for that class and date"}), **unprocessable("the rate has started")},
)
def cancel_tax_rate(outlet_id: str, tax_class: str, effective_from: date, principal: Manager, request: Request) -> TaxRatesOut:
    """Cancel a scheduled rate that has not started (one that has is replaced by
    scheduling another). Audited (`outlet.tax_rate_cancelled`)."""
    ctx = _ctx(request)
    ensure_known_outlet(ctx.db, principal, outlet_id)
    key = (
        (outlet_tax_rates.c.outlet_id == outlet_id)
        & (outlet_tax_rates.c.tax_class == tax_class)
        & (outlet_tax_rates.c.effective_from == effective_from)
    )
    with ctx.db.transaction() as uow:
        policy = outlet_policy.load(uow, outlet_id, ctx.settings)
        rate_bp = uow.session.scalar(select(outlet_tax_rates.c.rate_bp).where(key).with_for_update())
        if rate_bp is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {tax_class} rate is scheduled from {effective_from.isoformat()}")
        if policy.starts_at(effective_from) <= utcnow():
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"the {tax_class} rate from {effective_from.isoformat()} has started: schedule a new rate instead",
            )
        uow.session.execute(outlet_tax_rates.delete().where(key))
        _audit(uow, "outlet.tax_rate_cancelled", outlet_id, policy, tax_class, effective_from, rate_bp, principal, request)
        return _view(uow, outlet_id, ctx)
