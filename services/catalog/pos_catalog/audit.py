"""Catalog's entries for identity's audit chain (ADR 0043): price changes, a product's
own, an outlet's shelf price, and those a CSV import made. Published in the transaction
of the change itself."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from pos_catalog.schemas import ProductOut
from pos_platform.audit import record_audit
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork

# An import names at most this many of its price changes one by one (the count is whole).
IMPORT_PRICES_LISTED = 200


def price_changed(uow: UnitOfWork, before: ProductOut, price_minor: int, principal: Principal, request: Request) -> None:
    record_audit(
        uow,
        "product.price_changed",
        actor=principal,
        request=request,
        target_type="product",
        target_id=before.id,
        outlet_id=None,  # every outlet without a price of its own
        details={
            "sku": before.sku,
            "currency": before.currency,
            "before": {"price_minor": before.price_minor},
            "after": {"price_minor": price_minor},
        },
    )


def outlet_price_changed(
    uow: UnitOfWork,
    product: ProductOut,
    outlet_id: str,
    before: int | None,
    after: int | None,
    principal: Principal,
    request: Request,
    currency: str | None = None,
) -> None:
    """One outlet's own shelf price set, changed, or removed (`after` None: the outlet
    sells at the product's price, `product_price_minor`, again); `currency` the outlet
    price's (the outlet's), `product_currency` the product's."""
    record_audit(
        uow,
        "product.outlet_price_changed",
        actor=principal,
        request=request,
        target_type="product",
        target_id=product.id,
        outlet_id=outlet_id,
        details={
            "sku": product.sku,
            "currency": currency or product.currency,
            "product_currency": product.currency,
            "product_price_minor": product.price_minor,
            "before": {"price_minor": before},
            "after": {"price_minor": after},
        },
    )


def import_prices_changed(uow: UnitOfWork, job_id: str, actor_id: str | None, changes: list[dict[str, Any]]) -> None:
    """One entry per import that changed prices: how many, and the first ones by SKU
    with before and after (the import's file and job hold the rest)."""
    if not changes:
        return
    record_audit(
        uow,
        "product.prices_imported",
        actor_id=actor_id,
        target_type="import",
        target_id=job_id,
        outlet_id=None,
        details={
            "price_changes": len(changes),
            "listed": changes[:IMPORT_PRICES_LISTED],
        },
    )
