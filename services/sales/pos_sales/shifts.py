"""Register shifts: open with a counted float, cash in and out with a reason, close with a
blind count, and the Z-report of everything the shift did.

Blind close: while a shift is open nobody is shown the cash the drawer should hold; the
cashier enters the count first, and only the close answer reveals the expected amount
and the difference (over or short), which are then recorded for good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from pos_contracts.events import ShiftClosed
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork, iso_utc, utcnow
from pos_sales.tables import cash_movements, refund_lines, refund_tenders, refunds, sale_lines, sale_tenders, sales, shifts


class ShiftProblem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def slot(outlet_id: str, register_id: str) -> str:
    return f"{outlet_id}/{register_id}"


_OPEN_SHIFT = select(shifts.c.id).where(shifts.c.open_slot == bindparam("slot"))  # built once: every checkout asks


def current_shift_id(uow: UnitOfWork, outlet_id: str, register_id: str | None) -> str | None:
    if not register_id:
        return None
    return uow.session.scalar(_OPEN_SHIFT, {"slot": slot(outlet_id, register_id)})


def shift_view(row: Any, *, reveal: bool) -> dict[str, Any]:
    """A shift as the API shows it; the expected cash only once it is closed (blind)."""
    view = {
        "id": row.id,
        "outlet_id": row.outlet_id,
        "register_id": row.register_id,
        "status": row.status,
        "currency": row.currency,
        "opened_by": row.opened_by,
        "opened_at": iso_utc(row.opened_at),
        "opening_float_minor": row.opening_float_minor,
        "closed_by": row.closed_by,
        "closed_at": iso_utc(row.closed_at),
        "counted_cash_minor": row.counted_cash_minor,
    }
    if reveal and row.status == "closed":
        view.update(expected_cash_minor=row.expected_cash_minor, over_short_minor=row.over_short_minor)
    return view


def load_shift(uow: UnitOfWork, shift_id: str, *, for_update: bool = False) -> Any:
    query = select(shifts).where(shifts.c.id == shift_id)
    return uow.session.execute(query.with_for_update() if for_update else query).first()


def open_shift(
    uow: UnitOfWork, shift_id: str, outlet_id: str, register_id: str, float_minor: int, currency: str, principal: Principal
) -> tuple[Any, bool]:
    """(shift row, created). The same id again returns the shift; another open shift on
    the register is a conflict."""
    existing = load_shift(uow, shift_id)
    if existing is not None:
        if (existing.outlet_id, existing.register_id, existing.opening_float_minor) != (outlet_id, register_id, float_minor):
            raise ShiftProblem(409, "this shift id was already used for another shift")
        return existing, False
    other = current_shift_id(uow, outlet_id, register_id)
    if other is not None:
        raise ShiftProblem(409, f"register {register_id} already has an open shift ({other}): close it first")
    try:
        with uow.session.begin_nested():
            uow.session.execute(
                shifts.insert().values(
                    id=shift_id,
                    outlet_id=outlet_id,
                    register_id=register_id,
                    open_slot=slot(outlet_id, register_id),
                    status="open",
                    currency=currency,
                    opened_by=principal.user_id,
                    opened_at=utcnow(),
                    opening_float_minor=float_minor,
                )
            )
    except IntegrityError:
        raise ShiftProblem(409, f"register {register_id} already has an open shift: close it first") from None
    return load_shift(uow, shift_id), True


def add_cash_movement(
    uow: UnitOfWork, shift_id: str, movement_id: str, kind: str, amount_minor: int, reason: str, principal: Principal
) -> dict[str, Any]:
    shift = load_shift(uow, shift_id, for_update=True)
    if shift is None or not principal.may_access(shift.outlet_id):
        raise ShiftProblem(404, f"shift {shift_id} not found")
    existing = uow.session.execute(select(cash_movements).where(cash_movements.c.id == movement_id)).first()
    if existing is None:
        if shift.status != "open":
            raise ShiftProblem(409, "the shift is closed: open a new one")
        uow.session.execute(
            cash_movements.insert().values(
                id=movement_id,
                shift_id=shift_id,
                kind=kind,
                amount_minor=amount_minor,
                reason=reason,
                cashier_id=principal.user_id,
                created_at=utcnow(),
            )
        )
        existing = uow.session.execute(select(cash_movements).where(cash_movements.c.id == movement_id)).one()
    elif (existing.shift_id, existing.kind, existing.amount_minor) != (shift_id, kind, amount_minor):
        raise ShiftProblem(409, "this movement id was already used for another movement")
    return {
        "id": existing.id,
        "shift_id": existing.shift_id,
        "kind": existing.kind,
        "amount_minor": existing.amount_minor,
        "reason": existing.reason,
        "cashier_id": existing.cashier_id,
        "created_at": iso_utc(existing.created_at),
    }


@dataclass(frozen=True)
class Totals:
    count: int
    total: int
    tax: int
    gross: int
    discount: int
    rounding: int


def z_report(uow: UnitOfWork, shift: Any, *, counted_minor: int | None = None, closed_at: str | None = None) -> dict[str, Any]:
    """Everything the shift did: sales, refunds, voids, discounts, tax (net of refunds) by
    rate, money by tender, and the cash the drawer should hold."""
    sid = shift.id
    s = uow.session
    done = (sales.c.shift_id == sid) & (sales.c.status == "COMPLETED")
    sale_row = s.execute(
        select(
            func.count(),
            func.coalesce(func.sum(sales.c.total_minor), 0),
            func.coalesce(func.sum(sales.c.tax_minor), 0),
            func.coalesce(func.sum(sales.c.discount_minor), 0),
            func.coalesce(func.sum(sales.c.rounding_minor), 0),
        ).where(done)
    ).one()
    gross = s.scalar(
        select(func.coalesce(func.sum(sale_lines.c.gross_minor), 0))
        .select_from(sale_lines.join(sales, sales.c.id == sale_lines.c.sale_id))
        .where(done)
    )
    sold = Totals(sale_row[0], int(sale_row[1]), int(sale_row[2]), int(gross or 0), int(sale_row[3]), int(sale_row[4]))
    refund_done = (refunds.c.shift_id == sid) & (refunds.c.status == "COMPLETED")
    refund_row = s.execute(
        select(
            func.count(), func.coalesce(func.sum(refunds.c.total_minor), 0), func.coalesce(func.sum(refunds.c.tax_minor), 0)
        ).where(refund_done)
    ).one()
    voids = s.scalar(select(func.count()).select_from(sales).where(sales.c.shift_id == sid, sales.c.status == "VOIDED")) or 0

    tenders: dict[str, dict[str, int]] = {}
    for kind, amount in s.execute(
        select(sale_tenders.c.kind, func.sum(sale_tenders.c.amount_minor))
        .select_from(sale_tenders.join(sales, sales.c.id == sale_tenders.c.sale_id))
        .where(done)
        .group_by(sale_tenders.c.kind)
    ):
        tenders.setdefault(kind, {"taken_minor": 0, "refunded_minor": 0})["taken_minor"] = int(amount)
    for kind, amount in s.execute(
        select(refund_tenders.c.kind, func.sum(refund_tenders.c.amount_minor))
        .select_from(refund_tenders.join(refunds, refunds.c.id == refund_tenders.c.refund_id))
        .where(refund_done)
        .group_by(refund_tenders.c.kind)
    ):
        tenders.setdefault(kind, {"taken_minor": 0, "refunded_minor": 0})["refunded_minor"] = int(amount)

    bands: dict[int, list[int]] = {}
    for rate_bp, total, tax in s.execute(
        select(sale_lines.c.tax_rate_bp, func.sum(sale_lines.c.total_minor), func.sum(sale_lines.c.tax_minor))
        .select_from(sale_lines.join(sales, sales.c.id == sale_lines.c.sale_id))
        .where(done)
        .group_by(sale_lines.c.tax_rate_bp)
    ):
        bands[int(rate_bp)] = [int(total) - int(tax), int(tax)]
    for rate_bp, total, tax in s.execute(
        select(sale_lines.c.tax_rate_bp, func.sum(refund_lines.c.total_minor), func.sum(refund_lines.c.tax_minor))
        .select_from(
            refund_lines.join(refunds, refunds.c.id == refund_lines.c.refund_id).join(
                sale_lines, (sale_lines.c.sale_id == refunds.c.sale_id) & (sale_lines.c.line_no == refund_lines.c.line_no)
            )
        )
        .where(refund_done)
        .group_by(sale_lines.c.tax_rate_bp)
    ):
        band = bands.setdefault(int(rate_bp), [0, 0])
        band[0] -= int(total) - int(tax)
        band[1] -= int(tax)

    moved = dict(
        s.execute(
            select(cash_movements.c.kind, func.sum(cash_movements.c.amount_minor))
            .where(cash_movements.c.shift_id == sid)
            .group_by(cash_movements.c.kind)
        ).all()
    )
    cash_in, cash_out = int(moved.get("in", 0)), int(moved.get("out", 0))
    cash_sales = tenders.get("cash", {}).get("taken_minor", 0)
    cash_refunds = tenders.get("cash", {}).get("refunded_minor", 0)
    # Foreign cash (ADR 0061): its notes go in the drawer in their currency; its change
    # came out of the drawer in the outlet's currency.
    foreign: list[dict[str, Any]] = []
    foreign_change = 0
    for code, count, handed, change in s.execute(
        select(
            sale_tenders.c.currency,
            func.count(),
            func.sum(sale_tenders.c.foreign_minor),
            func.coalesce(func.sum(sale_tenders.c.change_minor), 0),
        )
        .select_from(sale_tenders.join(sales, sales.c.id == sale_tenders.c.sale_id))
        .where(done, sale_tenders.c.kind == "foreign_cash")
        .group_by(sale_tenders.c.currency)
        .order_by(sale_tenders.c.currency)
    ):
        foreign.append(
            {
                "currency": code,
                "tenders": int(count),
                "taken_minor": int(handed),
                "expected_minor": int(handed),
                "change_given_minor": int(change),
            }
        )
        foreign_change += int(change)
    expected = shift.opening_float_minor + cash_sales - cash_refunds + cash_in - cash_out - foreign_change
    cash: dict[str, Any] = {
        "opening_float_minor": shift.opening_float_minor,
        "sales_minor": cash_sales,
        "refunds_minor": cash_refunds,
        "in_minor": cash_in,
        "out_minor": cash_out,
        "foreign_change_minor": foreign_change,
        "expected_minor": expected,
    }
    if counted_minor is not None:
        cash.update(counted_minor=counted_minor, over_short_minor=counted_minor - expected)
    return {
        "shift_id": sid,
        "outlet_id": shift.outlet_id,
        "register_id": shift.register_id,
        "currency": shift.currency,
        "opened_by": shift.opened_by,
        "opened_at": iso_utc(shift.opened_at),
        "closed_at": closed_at,
        "sales": {
            "count": sold.count,
            "gross_minor": sold.gross,
            "discount_minor": sold.discount,
            "total_minor": sold.total,
            "tax_minor": sold.tax,
            "rounding_minor": sold.rounding,
        },
        "refunds": {"count": int(refund_row[0]), "total_minor": int(refund_row[1]), "tax_minor": int(refund_row[2])},
        "voids": {"count": int(voids)},
        "net_minor": sold.total - int(refund_row[1]),
        "tenders": tenders,
        "tax": [{"rate_bp": r, "net_minor": v[0], "tax_minor": v[1]} for r, v in sorted(bands.items())],
        "cash": cash,
        "foreign_cash": foreign,
    }


def close_shift(uow: UnitOfWork, shift_id: str, counted_minor: int, principal: Principal) -> dict[str, Any]:
    """Close with the blind count; the Z-report is computed once and kept. Closing again
    with the same count returns the same report."""
    shift = load_shift(uow, shift_id, for_update=True)
    if shift is None or not principal.may_access(shift.outlet_id):
        raise ShiftProblem(404, f"shift {shift_id} not found")
    if shift.status == "closed":
        if shift.counted_cash_minor != counted_minor:
            raise ShiftProblem(409, "the shift is already closed with another count")
        return json.loads(shift.z_report)
    now = utcnow()
    report = z_report(uow, shift, counted_minor=counted_minor, closed_at=iso_utc(now))
    cash = report["cash"]
    uow.session.execute(
        shifts.update()
        .where(shifts.c.id == shift_id)
        .values(
            status="closed",
            open_slot=None,
            closed_by=principal.user_id,
            closed_at=now,
            counted_cash_minor=counted_minor,
            expected_cash_minor=cash["expected_minor"],
            over_short_minor=cash["over_short_minor"],
            z_report=json.dumps(report),
        )
    )
    uow.publish(
        ShiftClosed(
            shift_id=shift_id,
            outlet_id=shift.outlet_id,
            register_id=shift.register_id,
            cashier_id=principal.user_id,
            currency=shift.currency,
            opened_at=report["opened_at"],
            closed_at=report["closed_at"],
            opening_float_minor=shift.opening_float_minor,
            expected_cash_minor=cash["expected_minor"],
            counted_cash_minor=counted_minor,
            over_short_minor=cash["over_short_minor"],
            sales_count=report["sales"]["count"],
            sales_total_minor=report["sales"]["total_minor"],
            refunds_total_minor=report["refunds"]["total_minor"],
        ),
        outlet_id=shift.outlet_id,
    )
    return report
