"""Per-outlet pricing and receipt settings: tax rates per tax class, tax-inclusive or
exclusive shelf prices, rounding mode, cash rounding, the discount approval threshold,
and what the receipt prints (shop name, address, tax number, header and footer lines).
Stored as one JSON document per outlet; outlets
without one use the service's defaults (environment)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import bindparam, select

from pos_platform.currencies import currency_problem
from pos_platform.db import UnitOfWork, upsert, utcnow
from pos_sales.config import Settings
from pos_sales.domain import PricingPolicy
from pos_sales.tables import outlet_settings

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
        max_length=50, description="tax class -> rate in basis points (2000 = 20 %)"
    )
    prices_include_tax: bool = Field(description="shelf prices include tax (retail) or tax is added on top")
    rounding_mode: Literal["half_up", "half_even", "down", "up"] = Field(description="how tax rounds, per line")
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
    accepted_currencies: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="foreign currencies the till takes as cash (ISO 4217 codes, not the outlet's own); empty: none",
    )

    # Tax (ADR 0064): "default" follows POS_TAX_PROVIDER; "external" asks the tax API
    # (falling back to tax_rates_bp, the sale marked "tax estimated"); "builtin" never.
    tax_provider: Literal["default", "builtin", "external"] = Field(
        default="default", description="who calculates tax: default (POS_TAX_PROVIDER), builtin (tax_rates_bp) or external"
    )
    tax_address: TaxAddress | None = Field(default=None, description="the outlet's address for the external tax API")

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
        if self.tax_provider == "external" and self.tax_address is None:
            raise ValueError(
                "tax_provider external needs the outlet's tax_address (at least its country): the API taxes by place"
            )
        return self

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


def defaults(settings: Settings) -> OutletSettings:
    return OutletSettings(
        currency=settings.default_currency,
        tax_rates_bp=settings.tax_rates_bp,
        prices_include_tax=settings.prices_include_tax,
        rounding_mode=settings.rounding_mode,  # type: ignore[arg-type]
        cash_rounding_minor=settings.cash_rounding_minor,
        discount_approval_bp=settings.discount_approval_bp,
    )


_BODY = select(outlet_settings.c.body).where(outlet_settings.c.outlet_id == bindparam("outlet_id"))  # built once


def load(uow: UnitOfWork, outlet_id: str, settings: Settings) -> OutletSettings:
    body = uow.session.scalar(_BODY, {"outlet_id": outlet_id})
    return defaults(settings) if body is None else OutletSettings.model_validate(json.loads(body))


def save(uow: UnitOfWork, outlet_id: str, value: OutletSettings, user_id: str) -> None:
    upsert(
        uow.session,
        outlet_settings,
        {"outlet_id": outlet_id},
        sets={"body": value.model_dump_json(), "updated_by": user_id, "updated_at": utcnow()},
    )
