"""Events as the other services publish them, for the reports tests."""

from __future__ import annotations

from typing import Any

from pos_contracts import Envelope, new_envelope
from pos_contracts.events import (
    OutletCreated,
    ProductCreated,
    RefundLine,
    SaleCompleted,
    SaleLine,
    SaleRefunded,
    TenderLine,
)

PRODUCERS = {
    "OutletCreated": "identity",
    "UserChanged": "identity",
    "RegisterChanged": "identity",
    "OutletChanged": "identity",
    "ProductCreated": "catalog",
    "ProductChanged": "catalog",
    "ProductArchived": "catalog",
    "SaleCompleted": "sales",
    "SaleRefunded": "sales",
    "SaleVoided": "sales",
    "ShiftClosed": "sales",
    "StockDeducted": "inventory",
    "StockAdjusted": "inventory",
    "StockReturned": "inventory",
    "StockTransferred": "inventory",
    "LowStockDetected": "inventory",
    "PaymentCaptured": "payments",
    "PaymentRefunded": "payments",
}


def envelope(event: Any, **payload_extra: Any) -> Envelope:
    env = new_envelope(event, producer=PRODUCERS[event.TYPE], outlet_id=getattr(event, "outlet_id", None))
    if payload_extra:
        env = env.model_copy(update={"payload": env.payload | payload_extra})
    return env


def line(
    line_no: int,
    product_id: str,
    qty: int,
    total: int,
    tax: int,
    name: str | None = None,
    category_id: str | None = None,
    unit_cost: int | None = None,
) -> SaleLine:
    return SaleLine(
        line_no=line_no,
        product_id=product_id,
        sku=f"SKU-{product_id}",
        name=name or f"Product {product_id}",
        category_id=category_id,
        qty=qty,
        unit_price_minor=total // qty,
        tax_rate_bp=2000 if tax else 0,
        tax_minor=tax,
        total_minor=total,
        unit_cost_minor=unit_cost,
    )


def sale(
    sale_id: str,
    outlet_id: str,
    completed_at: str,
    lines: list[SaleLine],
    tenders: list[tuple[str, int]],
    *,
    cashier_id: str = "cashier-1",
    currency: str = "EUR",
) -> SaleCompleted:
    total = sum(ln.total_minor for ln in lines)
    tax = sum(ln.tax_minor for ln in lines)
    return SaleCompleted(
        sale_id=sale_id,
        outlet_id=outlet_id,
        cashier_id=cashier_id,
        receipt_number=f"R-{sale_id}",
        currency=currency,
        lines=lines,
        subtotal_minor=total - tax,
        tax_minor=tax,
        total_minor=total,
        tenders=[TenderLine(kind=k, amount_minor=a) for k, a in tenders],
        completed_at=completed_at,
    )


def refund(
    refund_id: str,
    sale_id: str,
    outlet_id: str,
    refunded_at: str,
    lines: list[tuple[int, str, int, int, int, bool]],
    tenders: list[tuple[str, int]],
    *,
    cashier_id: str = "cashier-1",
    currency: str = "EUR",
) -> SaleRefunded:
    """lines: (line_no, product_id, qty, total, tax, restock)."""
    refund_lines = [
        RefundLine(line_no=n, product_id=p, qty=q, total_minor=t, tax_minor=x, restock=r) for n, p, q, t, x, r in lines
    ]
    return SaleRefunded(
        refund_id=refund_id,
        sale_id=sale_id,
        outlet_id=outlet_id,
        cashier_id=cashier_id,
        approved_by="manager-1",
        currency=currency,
        lines=refund_lines,
        total_minor=sum(ln.total_minor for ln in refund_lines),
        tax_minor=sum(ln.tax_minor for ln in refund_lines),
        tenders=[TenderLine(kind=k, amount_minor=a) for k, a in tenders],
        refunded_at=refunded_at,
    )


def outlet(outlet_id: str, name: str = "", currency: str = "EUR", timezone: str = "UTC") -> OutletCreated:
    return OutletCreated(outlet_id=outlet_id, name=name or outlet_id, currency=currency, timezone=timezone)


def product(
    product_id: str,
    name: str = "",
    cost: int = 0,
    category_id: str | None = None,
    category_name: str | None = None,
    price: int = 1000,
) -> ProductCreated:
    return ProductCreated(
        product_id=product_id,
        sku=f"SKU-{product_id}",
        name=name or f"Product {product_id}",
        category_id=category_id,
        category_name=category_name,
        price_minor=price,
        cost_minor=cost,
        currency="EUR",
    )
