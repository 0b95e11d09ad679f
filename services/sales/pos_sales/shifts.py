"""Register shifts: open with a counted float, cash in and out with a reason, close with a
blind count, and the Z-report of everything the shift did.

Blind close: while a shift is open nobody is shown the cash the drawer should hold; the
cashier enters the count first, and only the close answer reveals the expected amount
and the difference (over or short), which are then recorded for good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from pos_platform.auth import Principal
from pos_platform.conversion import CONVERSION_ROUNDING, exact_conversion, parse_rate, round_fraction
from pos_platform.currencies import currency as currency_info
from pos_platform.db import UnitOfWork, iso_utc, utcnow
from pos_sales.events import shift_closed
from pos_sales.tables import (
    cash_movements,
    refund_lines,
    refund_tenders,
    refunds,
    sale_lines,
    sale_tenders,
    sales,
    shift_foreign_cash,
    shifts,
)


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


def foreign_amounts(uow: UnitOfWork, shift_ids: list[str]) -> dict[str, list[tuple[str, int, int | None]]]:
    """Per shift: (currency, opening float, count or None) for each foreign currency it
    opened with a float or closed with a count, by currency."""
    found: dict[str, list[tuple[str, int, int | None]]] = {sid: [] for sid in shift_ids}
    if not shift_ids:
        return found
    for row in uow.session.execute(
        select(shift_foreign_cash)
        .where(shift_foreign_cash.c.shift_id.in_(shift_ids))
        .order_by(shift_foreign_cash.c.shift_id, shift_foreign_cash.c.currency)
    ):
        found[row.shift_id].append(
            (row.currency, int(row.opening_float_minor), None if row.counted_minor is None else int(row.counted_minor))
        )
    return found


def shift_view(row: Any, *, reveal: bool, foreign: list[tuple[str, int, int | None]] | None = None) -> dict[str, Any]:
    """A shift as the API shows it; the expected cash only once it is closed (blind)."""
    foreign = foreign or []
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
        "foreign_floats": [{"currency": code, "amount_minor": float_} for code, float_, _ in foreign if float_],
        "foreign_counted": [{"currency": code, "amount_minor": n} for code, _, n in foreign if n is not None],
    }
    if reveal and row.status == "closed":
        view.update(expected_cash_minor=row.expected_cash_minor, over_short_minor=row.over_short_minor)
    return view


def load_shift(uow: UnitOfWork, shift_id: str, *, for_update: bool = False) -> Any:
    query = select(shifts).where(shifts.c.id == shift_id)
    return uow.session.execute(query.with_for_update() if for_update else query).first()


def check_foreign(outlet_id: str, own: str, accepted: list[str], amounts: dict[str, int], *, own_field: str | None) -> None:
    """422 (a sentence naming the currency) for a currency the outlet does not take as
    cash, or an amount that is not a whole number of that currency's cash unit. With
    `own_field`, the outlet's own currency is refused too (it has its own field)."""
    for code, amount in amounts.items():
        if code == own:
            if own_field is None:
                continue
            raise ShiftProblem(422, f"{code} is outlet {outlet_id}'s own currency: give its amount in {own_field}")
        if code not in accepted:
            takes = ", ".join(accepted) if accepted else "no foreign currency"
            raise ShiftProblem(
                422,
                f"outlet {outlet_id} does not accept {code} as cash (it takes {own} and {takes}): "
                f"a manager adds {code} under Outlets → Edit → Foreign cash",
            )
        info = currency_info(code)
        if amount % info.cash_unit_minor:
            raise ShiftProblem(
                422,
                f"{amount} minor units of {code} is not cash: {code} changes hands in steps of "
                f"{info.cash_unit_minor} minor units (amounts are in minor units, {info.minor_units} decimals)",
            )


def open_shift(
    uow: UnitOfWork,
    shift_id: str,
    outlet_id: str,
    register_id: str,
    float_minor: int,
    currency: str,
    principal: Principal,
    foreign_floats: dict[str, int] | None = None,
) -> tuple[Any, bool]:
    """(shift row, created). The same id again returns the shift; another open shift on
    the register is a conflict. `foreign_floats` (currency -> minor units) must already
    be checked against the outlet's accepted currencies (check_foreign)."""
    floats = {code: amount for code, amount in (foreign_floats or {}).items() if amount}
    existing = load_shift(uow, shift_id)
    if existing is not None:
        before = {code: f for code, f, _ in foreign_amounts(uow, [shift_id])[shift_id] if f}
        if (existing.outlet_id, existing.register_id, existing.opening_float_minor, before) != (
            outlet_id,
            register_id,
            float_minor,
            floats,
        ):
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
            if floats:
                uow.session.execute(
                    shift_foreign_cash.insert(),
                    [
                        {"shift_id": shift_id, "currency": code, "opening_float_minor": amount, "counted_minor": None}
                        for code, amount in sorted(floats.items())
                    ],
                )
    except IntegrityError:
        raise ShiftProblem(409, f"register {register_id} already has an open shift: close it first") from None
    return load_shift(uow, shift_id), True


def add_cash_movement(
    uow: UnitOfWork,
    shift_id: str,
    movement_id: str,
    kind: str,
    amount_minor: int,
    reason: str,
    principal: Principal,
    currency: str | None = None,
    accepted: list[str] | None = None,
) -> dict[str, Any]:
    """Cash in or out of the drawer in `currency` (the shift's, by default; else one of
    the outlet's `accepted` foreign currencies)."""
    shift = load_shift(uow, shift_id, for_update=True)
    if shift is None or not principal.may_access(shift.outlet_id):
        raise ShiftProblem(404, f"shift {shift_id} not found")
    code = currency or shift.currency
    existing = uow.session.execute(select(cash_movements).where(cash_movements.c.id == movement_id)).first()
    if existing is None:
        if shift.status != "open":
            raise ShiftProblem(409, "the shift is closed: open a new one")
        check_foreign(shift.outlet_id, shift.currency, accepted or [], {code: amount_minor}, own_field=None)
        uow.session.execute(
            cash_movements.insert().values(
                id=movement_id,
                shift_id=shift_id,
                kind=kind,
                amount_minor=amount_minor,
                currency=code,
                reason=reason,
                cashier_id=principal.user_id,
                created_at=utcnow(),
            )
        )
        existing = uow.session.execute(select(cash_movements).where(cash_movements.c.id == movement_id)).one()
    elif (existing.shift_id, existing.kind, existing.amount_minor, existing.currency or shift.currency) != (
        shift_id,
        kind,
        amount_minor,
        code,
    ):
        raise ShiftProblem(409, "this movement id was already used for another movement")
    return {
        "id": existing.id,
        "shift_id": existing.shift_id,
        "kind": existing.kind,
        "amount_minor": existing.amount_minor,
        "currency": existing.currency or shift.currency,
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


@dataclass(frozen=True)
class ConversionRate:
    """A rate to convert a foreign currency's over/short into the outlet's: `rate` units
    of the foreign currency per unit of the outlet's (as tenders stamp it), where it
    came from (`source`, `as_of`), and on what basis: "sale" (the rate stamped on the
    shift's last sale in that currency) or "payments" (payments' rate at the close)."""

    rate: str
    source: str
    as_of: str
    basis: str


def stamped_rates(uow: UnitOfWork, shift_id: str) -> dict[str, ConversionRate]:
    """Per foreign currency, the rate stamped on the shift's last completed sale in it."""
    found: dict[str, ConversionRate] = {}
    rows = uow.session.execute(
        select(sale_tenders.c.currency, sale_tenders.c.rate, sale_tenders.c.rate_source, sale_tenders.c.rate_as_of)
        .select_from(sale_tenders.join(sales, sales.c.id == sale_tenders.c.sale_id))
        .where(
            sales.c.shift_id == shift_id,
            sales.c.status == "COMPLETED",
            sale_tenders.c.kind == "foreign_cash",
            sale_tenders.c.rate.is_not(None),
        )
        .order_by(sales.c.completed_at.desc(), sales.c.id.desc())
    )
    for code, rate, source, as_of in rows:
        if code not in found:
            found[code] = ConversionRate(str(rate), str(source or ""), str(as_of or ""), "sale")
    return found


def convert_to_outlet(amount_minor: int, foreign: str, own: str, rate: ConversionRate) -> int:
    """`amount_minor` of `foreign` in minor units of `own`, at `rate` (foreign per own),
    to the nearest minor unit, ties to even (docs/currency-tax.md, conversion)."""
    per_own = Fraction(parse_rate(rate.rate))
    return round_fraction(exact_conversion(amount_minor, foreign, own, 1 / per_own), CONVERSION_ROUNDING)


def z_report(
    uow: UnitOfWork,
    shift: Any,
    *,
    counted_minor: int | None = None,
    closed_at: str | None = None,
    foreign_counted: dict[str, int] | None = None,
    rates: dict[str, ConversionRate] | None = None,
) -> dict[str, Any]:
    """Everything the shift did: sales, refunds, voids, discounts, tax (net of refunds) by
    rate, money by tender, and the cash the drawer should hold, per currency."""
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

    own = shift.currency
    # Movements per currency (a row older than migration 0013 without one: the shift's).
    moved: dict[str, dict[str, int]] = {}
    for code, kind, amount in s.execute(
        select(cash_movements.c.currency, cash_movements.c.kind, func.sum(cash_movements.c.amount_minor))
        .where(cash_movements.c.shift_id == sid)
        .group_by(cash_movements.c.currency, cash_movements.c.kind)
    ):
        per = moved.setdefault(code or own, {"in": 0, "out": 0})
        per[kind] = per.get(kind, 0) + int(amount)
    cash_in, cash_out = moved.get(own, {}).get("in", 0), moved.get(own, {}).get("out", 0)
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

    # Cash control per currency (ADR 0063): the outlet's currency first, then each
    # foreign currency the drawer held (a float, a sale, a movement or a count), by code.
    by_currency: list[dict[str, Any]] = [
        {"currency": own, "own": True, **{k: v for k, v in cash.items() if k != "foreign_change_minor"}}
    ]
    by_currency[0]["change_given_minor"] = foreign_change
    floats = {code: f for code, f, _ in foreign_amounts(uow, [sid])[sid]}
    taken = {entry["currency"]: entry["taken_minor"] for entry in foreign}
    counts = foreign_counted or {}
    codes = sorted((set(floats) | set(taken) | set(counts) | set(moved)) - {own})
    for code in codes:
        f_in, f_out = moved.get(code, {}).get("in", 0), moved.get(code, {}).get("out", 0)
        f_expected = floats.get(code, 0) + taken.get(code, 0) + f_in - f_out
        row: dict[str, Any] = {
            "currency": code,
            "own": False,
            "opening_float_minor": floats.get(code, 0),
            "sales_minor": taken.get(code, 0),
            "refunds_minor": 0,  # refunds are paid in the outlet's currency (docs/currency-tax.md)
            "in_minor": f_in,
            "out_minor": f_out,
            "change_given_minor": 0,  # change for foreign cash is given in the outlet's currency
            "expected_minor": f_expected,
        }
        if code in counts:
            f_over_short = counts[code] - f_expected
            row.update(counted_minor=counts[code], over_short_minor=f_over_short)
            rate = (rates or {}).get(code)
            converted: int | None = None
            if rate is not None:
                try:
                    converted = convert_to_outlet(f_over_short, code, own, rate)
                except (ValueError, ZeroDivisionError):
                    rate = None
            if rate is not None and converted is not None:
                row["converted"] = {
                    "currency": own,
                    "over_short_minor": converted,
                    "rate": rate.rate,
                    "rate_source": rate.source,
                    "rate_as_of": rate.as_of,
                    "rate_basis": rate.basis,
                }
            else:
                row["converted_detail"] = f"no {own}/{code} rate could be had at the close: not converted"
        by_currency.append(row)
    # `foreign_cash` (ADR 0061) says what the drawer should hold per foreign currency: the
    # same figure, now with its float and movements.
    expected_of = {row["currency"]: row["expected_minor"] for row in by_currency}
    for entry in foreign:
        entry["expected_minor"] = expected_of.get(entry["currency"], entry["expected_minor"])
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
        "cash_by_currency": by_currency,
    }


def close_shift(
    uow: UnitOfWork,
    shift_id: str,
    counted_minor: int,
    principal: Principal,
    foreign_counted: dict[str, int] | None = None,
    accepted: list[str] | None = None,
    rates: dict[str, ConversionRate] | None = None,
) -> dict[str, Any]:
    """Close with the blind count (the outlet's currency, and each foreign currency the
    cashier counted); the Z-report is computed once and kept. Closing again with the
    same counts returns the same report. `rates`: payments' rates for the foreign
    currencies the shift sold none of (the others convert at their sale's rate)."""
    counts = dict(foreign_counted or {})
    shift = load_shift(uow, shift_id, for_update=True)
    if shift is None or not principal.may_access(shift.outlet_id):
        raise ShiftProblem(404, f"shift {shift_id} not found")
    if shift.status == "closed":
        before = {code: n for code, _, n in foreign_amounts(uow, [shift_id])[shift_id] if n is not None}
        if shift.counted_cash_minor != counted_minor or before != counts:
            raise ShiftProblem(409, "the shift is already closed with another count")
        return json.loads(shift.z_report)
    check_foreign(shift.outlet_id, shift.currency, accepted or [], counts, own_field="counted_cash_minor")
    now = utcnow()
    report = z_report(
        uow,
        shift,
        counted_minor=counted_minor,
        closed_at=iso_utc(now),
        foreign_counted=counts,
        rates={**(rates or {}), **stamped_rates(uow, shift_id)},
    )
    for code, counted in sorted(counts.items()):
        updated = uow.session.execute(
            shift_foreign_cash.update()
            .where(shift_foreign_cash.c.shift_id == shift_id, shift_foreign_cash.c.currency == code)
            .values(counted_minor=counted)
        )
        if updated.rowcount == 0:
            uow.session.execute(
                shift_foreign_cash.insert().values(shift_id=shift_id, currency=code, opening_float_minor=0, counted_minor=counted)
            )
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
        shift_closed(
            shift,
            report,
            shift_id=shift_id,
            cashier_id=principal.user_id,
            expected_minor=cash["expected_minor"],
            counted_minor=counted_minor,
            over_short_minor=cash["over_short_minor"],
        ),
        outlet_id=shift.outlet_id,
    )
    return report
