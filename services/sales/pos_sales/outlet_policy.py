"""Per-outlet pricing and receipt settings: tax rates per tax class, tax-inclusive or
exclusive shelf prices, rounding mode, cash rounding, the discount approval threshold,
and what the receipt prints (shop name, address, tax number, header and footer lines).
Stored as one JSON document per outlet; outlets
without one use the service's defaults (environment)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from sqlalchemy import bindparam, select

from pos_platform.currencies import currency_problem
from pos_platform.db import UnitOfWork, upsert, utcnow
from pos_sales.config import Settings
from pos_sales.domain import PricingPolicy, RoundingMode, ScheduledRate, rates_in_effect
from pos_sales.tables import outlet_settings, outlet_tax_rates, outlet_zones

# A line of receipt text: one 80 mm printer line is 42 characters; longer ones wrap.
ReceiptLine = Annotated[str, Field(max_length=120)]


class TaxAddress(BaseModel):
    """Where the outlet is, as a tax calculation API needs it (the jurisdictions come
    from it). Only the external tax provider uses it."""

    model_config = ConfigDict(extra="forbid")

    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US")
    region: str = Field(default="", max_length=40, description="state or province code, e.g. CA")
    city: str = Field(default="", max_length=80)
    postal_code: str = Field(default="", max_length=20)
    line1: str = Field(default="", max_length=120)


class OutletSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="the outlet's currency (shifts and receipts)")
    tax_rates_bp: dict[Annotated[str, Field(min_length=1, max_length=32)], Annotated[int, Field(ge=0, le=10_000)]] = Field(
        max_length=50,
        description="tax class -> rate in basis points (2000 = 20 %) in effect now; rates from a date on: "
        "/api/sales/outlets/{id}/tax-rates",
    )
    prices_include_tax: bool = Field(description="shelf prices include tax (retail) or tax is added on top")
    rounding_mode: RoundingMode = Field(description="how tax rounds, per line")
    cash_rounding_minor: int = Field(ge=0, le=100, description="cash totals round to this increment (5 = 0.05); 0 = none")
    discount_approval_bp: int = Field(ge=0, le=10_000, description="discounts above this share need a manager (2000 = 20 %)")
    # What the receipt prints: stamped on each receipt at the sale (a receipt printed
    # again shows what it said then). Lines longer than a printer line wrap.
    shop_name: str = Field(
        default="", max_length=80, description="the shop's name at the top of the receipt ('' = the outlet's name)"
    )
    address: list[ReceiptLine] = Field(
        default_factory=list, max_length=4, description="the shop's address, a line each (at most 4)"
    )
    tax_number: str = Field(
        default="", max_length=40, description="VAT / tax registration number printed on the receipt ('' = none)"
    )
    receipt_header: list[ReceiptLine] = Field(default_factory=list, max_length=8, description="lines printed above the items")
    receipt_footer: list[ReceiptLine] = Field(default_factory=list, max_length=8, description="lines printed below the totals")
    # Selling offline (the till without its link to the services): the till enforces
    # these; a sale synced beyond them is kept all the same and listed as a sync exception.
    offline_max_hours: int = Field(
        default=24, ge=0, le=720, description="the longest a till sells offline before it stops (0: never offline)"
    )
    offline_max_sale_minor: int = Field(
        default=50_000, ge=0, le=10**12, description="the largest sale a till takes offline (0: no limit)"
    )
    # Deferred card capture offline (ADR 0073): the till takes a card on the shop's card
    # reader, which stores it (store-and-forward); payments captures it at the sync. A
    # card declined then is the shop's loss, so a manager bounds it.
    offline_card_allowed: bool = Field(default=False, description="the till takes cards offline on the card reader")
    offline_card_max_sale_minor: int = Field(
        default=0, ge=0, le=10**12, description="the largest card payment a till takes offline (set when allowed)"
    )
    offline_card_max_device_minor: int = Field(
        default=0,
        ge=0,
        le=10**12,
        description="the most a till holds in card payments taken offline and not synced yet (set when allowed)",
    )
    card_reader_url: str = Field(
        default="",
        max_length=200,
        pattern=r"^(https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/\-]*)?)?$",
        description="where the tills reach the shop's card reader on the LAN (its Terminal API, e.g. "
        "https://192.168.1.50:8443/nexo); '' = no reader: cards go to the card provider as before",
    )
    accepted_currencies: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="foreign currencies the till takes as cash (ISO 4217 codes, not the outlet's own); empty: none",
    )
    # Read-only (the service's POS_RATES_STALE_AFTER_DAYS, not stored): the offline till
    # refuses foreign cash at a cached rate older than this, the limit the sync lists
    # foreign_cash_stale_rate by (ADR 0061).
    rates_stale_after_days: int = Field(
        default=3,
        ge=0,
        le=3650,
        description="read-only: a rate older than this many days is stale (POS_RATES_STALE_AFTER_DAYS); the offline till "
        "refuses foreign cash at a cached rate older than it. Sent back on PUT, it is ignored",
    )

    # Tax (ADR 0064): "default" follows POS_TAX_PROVIDER; "external" asks the tax API
    # (falling back to tax_rates_bp, the sale marked "tax estimated"); "builtin" never.
    tax_provider: Literal["default", "builtin", "external"] = Field(
        default="default", description="who calculates tax: default (POS_TAX_PROVIDER), builtin (tax_rates_bp) or external"
    )
    tax_address: TaxAddress | None = Field(default=None, description="the outlet's address for the external tax API")
    timezone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone of the outlet (Europe/Berlin): a scheduled tax rate starts at its local midnight",
    )

    # The scheduled rates read with the settings (ADR 0066) and the moment tax_rates_bp
    # was worked out for; not part of the stored document.
    _schedule: list[ScheduledRate] = PrivateAttr(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        problem = zone_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("accepted_currencies")
    @classmethod
    def _iso_currencies(cls, value: list[str]) -> list[str]:
        for code in value:
            problem = currency_problem(code)
            if problem:
                raise ValueError(problem)
        if len(set(value)) != len(value):
            raise ValueError("a currency is listed twice in accepted_currencies")
        return value

    @model_validator(mode="after")
    def _foreign_only(self) -> OutletSettings:
        if self.currency in self.accepted_currencies:
            raise ValueError(f"{self.currency} is the outlet's own currency: accepted_currencies lists foreign ones only")
        if self.offline_card_allowed:
            if not self.card_reader_url:
                raise ValueError("cards are taken offline on the card reader: set card_reader_url first")
            if self.offline_card_max_sale_minor <= 0 or self.offline_card_max_device_minor <= 0:
                raise ValueError(
                    "deferred card capture needs both limits: offline_card_max_sale_minor and "
                    "offline_card_max_device_minor above 0 (minor units)"
                )
            if self.offline_card_max_sale_minor > self.offline_card_max_device_minor:
                raise ValueError("offline_card_max_sale_minor cannot be above offline_card_max_device_minor")
        if self.tax_provider == "external" and self.tax_address is None:
            raise ValueError(
                "tax_provider external needs the outlet's tax_address (at least its country): the API taxes by place"
            )
        return self

    @property
    def schedule(self) -> list[ScheduledRate]:
        return self._schedule

    def local_date(self, at: datetime) -> date:
        """The outlet's calendar date at `at` (naive UTC)."""
        return at.replace(tzinfo=UTC).astimezone(ZoneInfo(self.timezone)).date()

    def starts_at(self, day: date) -> datetime:
        """The outlet's local midnight starting `day`, as naive UTC."""
        return starts_at(day, self.timezone)

    def pricing(self) -> PricingPolicy:
        return PricingPolicy(
            tax_rates_bp=dict(self.tax_rates_bp),
            prices_include_tax=self.prices_include_tax,
            rounding_mode=self.rounding_mode,
            cash_rounding_minor=self.cash_rounding_minor,
            discount_approval_bp=self.discount_approval_bp,
        )

    def receipt_shop(self) -> dict[str, Any]:
        """The shop as the receipt prints it (stamped on each receipt at the sale)."""
        return {"name": self.shop_name, "address": list(self.address), "tax_number": self.tax_number}


def zone_problem(name: str) -> str:
    """'' for an IANA time zone name, else why it is not one."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        return f"{name!r} is not an IANA time zone (like Europe/Berlin or America/New_York)"
    return ""


def starts_at(day: date, zone: str) -> datetime:
    """Local midnight starting `day` in `zone`, as naive UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


def defaults(settings: Settings) -> OutletSettings:
    return OutletSettings(
        currency=settings.default_currency,
        tax_rates_bp=settings.tax_rates_bp,
        prices_include_tax=settings.prices_include_tax,
        rounding_mode=settings.rounding_mode,
        cash_rounding_minor=settings.cash_rounding_minor,
        discount_approval_bp=settings.discount_approval_bp,
        rates_stale_after_days=settings.rates_stale_after_days,
    )


# The settings, identity's time zone for the outlet and the scheduled tax rates in one
# statement (built once): a row per scheduled rate, or one with NULLs when there is none.
_ZONE = select(outlet_zones.c.timezone).where(outlet_zones.c.outlet_id == bindparam("outlet_id")).scalar_subquery()
_CURRENCY = select(outlet_zones.c.currency).where(outlet_zones.c.outlet_id == bindparam("outlet_id")).scalar_subquery()
_BODY = (
    select(
        outlet_settings.c.body,
        _ZONE.label("zone"),
        _CURRENCY.label("identity_currency"),
        outlet_tax_rates.c.tax_class,
        outlet_tax_rates.c.effective_from,
        outlet_tax_rates.c.rate_bp,
    )
    .select_from(outlet_settings.outerjoin(outlet_tax_rates, outlet_tax_rates.c.outlet_id == outlet_settings.c.outlet_id))
    .where(outlet_settings.c.outlet_id == bindparam("outlet_id"))
)


class IdentityOutlet(NamedTuple):
    timezone: str
    currency: str | None  # None: kept before sales kept currencies


def identity_outlet(uow: UnitOfWork, outlet_id: str) -> IdentityOutlet | None:
    """The outlet's time zone and currency as identity announced them (None: not announced)."""
    row = uow.session.execute(
        select(outlet_zones.c.timezone, outlet_zones.c.currency).where(outlet_zones.c.outlet_id == outlet_id)
    ).first()
    return None if row is None else IdentityOutlet(row.timezone, row.currency)


def _identity_currency_of(value: OutletSettings, code: str | None) -> None:
    """Identity's currency replaces the settings' own (accepted foreign currencies never
    list the outlet's own: it is dropped from them if a stored list had it)."""
    if code and not currency_problem(code):
        value.currency = code
        value.accepted_currencies = [c for c in value.accepted_currencies if c != code]


def load(uow: UnitOfWork, outlet_id: str, settings: Settings, at: datetime | None = None) -> OutletSettings:
    """The outlet's settings with `tax_rates_bp` the rates in effect at `at` (naive UTC;
    now by default), its schedule kept on it (`.schedule`), and its `timezone` and
    `currency` identity's for the outlet once identity has announced them (ADR 0072; the
    settings' own before)."""
    rows = uow.session.execute(_BODY, {"outlet_id": outlet_id}).all()
    if not rows:
        value = defaults(settings)
        known = identity_outlet(uow, outlet_id)
        if known is not None:
            if not zone_problem(known.timezone):
                value.timezone = known.timezone
            _identity_currency_of(value, known.currency)
        return value
    value = OutletSettings.model_validate(json.loads(rows[0].body))
    value.rates_stale_after_days = settings.rates_stale_after_days
    if rows[0].zone and not zone_problem(rows[0].zone):
        value.timezone = rows[0].zone
    _identity_currency_of(value, rows[0].identity_currency)
    schedule = [
        ScheduledRate(row.tax_class, starts_at(row.effective_from, value.timezone), row.rate_bp)
        for row in rows
        if row.tax_class is not None
    ]
    if schedule:
        value._schedule = sorted(schedule, key=lambda e: (e.tax_class, e.starts_at))
        value.tax_rates_bp = rates_in_effect(value.tax_rates_bp, schedule, at or utcnow())
    return value


def schedule_rows(uow: UnitOfWork, outlet_id: str) -> Sequence[Any]:
    """The outlet's scheduled rates with who set them, by class and date."""
    return uow.session.execute(
        select(outlet_tax_rates)
        .where(outlet_tax_rates.c.outlet_id == outlet_id)
        .order_by(outlet_tax_rates.c.tax_class, outlet_tax_rates.c.effective_from)
    ).all()


def save(uow: UnitOfWork, outlet_id: str, value: OutletSettings, user_id: str, before: OutletSettings | None = None) -> None:
    """Store the settings. Their `tax_rates_bp` are the rates in effect now: a class whose
    rate differs from `before`'s (loaded now) has that rate from now on, so its scheduled
    rates that have started are dropped (the audit log keeps them); rates still to come
    stay. A class no longer listed loses its schedule."""
    if before is not None and before.schedule:
        today = value.local_date(utcnow())
        for tax_class in {e.tax_class for e in before.schedule}:
            key = (outlet_tax_rates.c.outlet_id == outlet_id) & (outlet_tax_rates.c.tax_class == tax_class)
            if tax_class not in value.tax_rates_bp:
                uow.session.execute(outlet_tax_rates.delete().where(key))
            elif value.tax_rates_bp[tax_class] != before.tax_rates_bp.get(tax_class):
                uow.session.execute(outlet_tax_rates.delete().where(key & (outlet_tax_rates.c.effective_from <= today)))
    upsert(
        uow.session,
        outlet_settings,
        {"outlet_id": outlet_id},
        sets={"body": value.model_dump_json(exclude={"rates_stale_after_days"}), "updated_by": user_id, "updated_at": utcnow()},
    )
