"""Sales' entries for identity's audit chain (ADR 0043): refunds, voids, discounts a
manager approved above the outlet's threshold, and changes to an outlet's pricing
settings. Each is published in the transaction of the action itself, from the stored row
and its answer; a plain sale publishes none."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from pos_platform.audit import record_audit
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork


def refunded(uow: UnitOfWork, row: Any, slip: dict[str, Any]) -> None:
    """`row`: the refunds row being completed; `slip`: its answer. The actor is the
    cashier who asked for it (the reconciler may be the one finishing it)."""
    record_audit(
        uow,
        "sale.refunded",
        actor_id=row.cashier_id,
        target_type="refund",
        target_id=row.id,
        outlet_id=row.outlet_id,
        details={
            "sale_id": row.sale_id,
            "receipt_number": slip.get("receipt_number"),
            "approved_by": row.approved_by,
            "register_id": row.register_id,
            "currency": row.currency,
            "total_minor": row.total_minor,
            "tax_minor": row.tax_minor,
            "rounding_minor": row.rounding_minor,
            "destination": slip.get("destination"),
            "reason": slip.get("reason"),
            "tenders": slip.get("tenders", []),
            "lines": [
                {k: line[k] for k in ("line_no", "product_id", "qty", "total_minor", "restock") if k in line}
                for line in slip.get("lines", [])
            ],
        },
    )


def discount_approved(uow: UnitOfWork, row: Any, receipt: dict[str, Any]) -> None:
    """A sale completed with a discount above the outlet's threshold, approved by the
    manager in `row.approved_by` (their PIN at the till, or the manager ringing it up)."""
    record_audit(
        uow,
        "sale.discount_approved",
        actor_id=row.cashier_id,
        target_type="sale",
        target_id=row.id,
        outlet_id=row.outlet_id,
        details={
            "approved_by": row.approved_by,
            "receipt_number": receipt.get("receipt_number"),
            "register_id": row.register_id,
            "currency": row.currency,
            "discount_minor": receipt.get("discount_minor", row.discount_minor),
            "total_minor": receipt.get("total_minor", row.total_minor),
            "cart_discount": receipt.get("cart_discount"),
            "lines": [
                {
                    "line_no": line["line_no"],
                    "product_id": line["product_id"],
                    "qty": line["qty"],
                    "gross_minor": line.get("gross_minor"),
                    "discount_minor": line.get("discount_minor", 0),
                }
                for line in receipt.get("lines", [])
                if line.get("discount_minor")
            ],
        },
    )


def voided(uow: UnitOfWork, answer: dict[str, Any], principal: Principal, source_ip: str | None) -> None:
    """A cart voided before payment; `answer` is what the void answered; `source_ip`:
    the till's address."""
    record_audit(
        uow,
        "sale.voided",
        actor=principal,
        client_ip=source_ip,
        target_type="sale",
        target_id=answer["sale_id"],
        outlet_id=answer["outlet_id"],
        details={k: answer.get(k) for k in ("approved_by", "register_id", "reason", "currency", "total_minor", "lines")},
    )


def settings_changed(
    uow: UnitOfWork, outlet_id: str, before: dict[str, Any], after: dict[str, Any], principal: Principal, request: Request
) -> None:
    """An outlet's pricing and receipt settings (tax rates, rounding, the discount
    approval threshold, ...): the fields that changed, before and after."""
    changed = sorted(k for k in after if before.get(k) != after.get(k))
    if not changed:
        return
    record_audit(
        uow,
        "outlet.settings_changed",
        actor=principal,
        request=request,
        target_type="outlet_settings",
        target_id=outlet_id,
        outlet_id=outlet_id,
        details={"before": {k: before.get(k) for k in changed}, "after": {k: after.get(k) for k in changed}},
    )
