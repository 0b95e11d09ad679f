"""Inventory's entries for identity's audit chain (ADR 0043): stock adjusted by hand
(damage, theft, expiry, a correction, a quantity set) and stock counts posted. Published
in the transaction of the movement itself; sales' deductions, returns, receipts and
transfers are not audited here (the ledger records them, and sales audits refunds)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from pos_inventory.stock import Level
from pos_platform.audit import record_audit
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork

# A count names at most this many of its differences one by one (the totals are whole).
COUNT_LINES_LISTED = 500


def adjusted(
    uow: UnitOfWork,
    after: Level,
    delta: int,
    *,
    reason: str,
    note: str | None,
    reference: str | None,
    principal: Principal,
    request: Request,
) -> None:
    """One product's stock moved by hand by `delta`, leaving `after`."""
    record_audit(
        uow,
        "stock.adjusted",
        actor=principal,
        request=request,
        target_type="product",
        target_id=after.product_id,
        outlet_id=after.outlet_id,
        details={
            "delta": delta,
            "on_hand_before": after.on_hand - delta,
            "on_hand_after": after.on_hand,
            "reason": reason,
            "note": note,
            "reference": reference,
        },
    )


def policy_changed(uow: UnitOfWork, product_id: str, before: str, after: str, principal: Principal, request: Request) -> None:
    """A product's oversell policy changed (`allow`: sold when short, stock goes negative),
    in every outlet."""
    record_audit(
        uow,
        "stock.oversell_policy_changed",
        actor=principal,
        request=request,
        target_type="product",
        target_id=product_id,
        outlet_id=None,
        details={"before": {"oversell": before}, "after": {"oversell": after}},
    )


def count_posted(uow: UnitOfWork, count: Any, lines: list[dict[str, Any]], principal: Principal, request: Request) -> None:
    """A stock count posted: its differences (expected, counted, the movement)."""
    moved = [
        {"product_id": line["product_id"], "expected": line["expected"], "counted": line["counted"], "delta": line["difference"]}
        for line in lines
        if line["difference"]
    ]
    record_audit(
        uow,
        "stock.count_posted",
        actor=principal,
        request=request,
        target_type="count",
        target_id=count.id,
        outlet_id=count.outlet_id,
        details={
            "lines_counted": len(lines),
            "lines_moved": len(moved),
            "units_delta": sum(m["delta"] for m in moved),
            "note": getattr(count, "note", None),
            "differences": moved[:COUNT_LINES_LISTED],
        },
    )
