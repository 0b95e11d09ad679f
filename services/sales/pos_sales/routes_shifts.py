"""Register shifts: open, cash in/out, blind close, Z-report."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import select

from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.auth import Cashier, Principal, ensure_outlet
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet
from pos_sales import outlet_policy, registers
from pos_sales.config import Settings
from pos_sales.receipts import render_html, render_text, z_report_rows
from pos_sales.responses import CashMovement, Shift, ZReport, printable_200
from pos_sales.schemas import CashMovementIn, ShiftCloseIn, ShiftOpenIn
from pos_sales.shifts import (
    ConversionRate,
    ShiftProblem,
    add_cash_movement,
    check_foreign,
    close_shift,
    foreign_amounts,
    load_shift,
    open_shift,
    shift_view,
    slot,
    stamped_rates,
    z_report,
)
from pos_sales.tables import shifts

router = APIRouter(prefix="/api/sales/shifts", tags=["shifts"])

Format = Literal["json", "text", "html"]


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def _problem(exc: ShiftProblem) -> HTTPException:
    return HTTPException(exc.status, exc.detail)


def _visible_shift(uow: Any, shift_id: str, principal: Principal) -> Any:
    row = load_shift(uow, shift_id)
    if row is None or not principal.may_access(row.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"shift {shift_id} not found")
    return row


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Shift,
    response_model_exclude_unset=True,
    responses={200: {"model": Shift, "description": "the same shift opened again (a retry): the shift as it is"}}
    | errors({409: "the register already has an open shift, or the shift id was used for another shift"})
    | unprocessable("a float in a currency the outlet does not accept, or not cash in it (or a bad body)"),
)
def open_register(body: ShiftOpenIn, principal: Cashier, request: Request, response: Response) -> dict[str, Any]:
    """Open a register with the float counted into its drawer: in the outlet's currency,
    and optionally per foreign currency the outlet accepts (`foreign_floats`, minor units
    of each). One open shift per register; sales, refunds and voids rung on the register
    belong to it until it is closed. A currency the outlet does not accept is a 422."""
    ctx = _ctx(request)
    ensure_known_outlet(ctx.db, principal, body.outlet_id)
    registers.require_or_422(ctx.db, body.outlet_id, body.register_id)
    floats = {f.currency: f.amount_minor for f in body.foreign_floats}
    try:
        with ctx.db.transaction() as uow:
            policy = outlet_policy.load(uow, body.outlet_id, ctx.settings)
            check_foreign(body.outlet_id, policy.currency, policy.accepted_currencies, floats, own_field="opening_float_minor")
            row, created = open_shift(
                uow, body.id, body.outlet_id, body.register_id, body.opening_float_minor, policy.currency, principal, floats
            )
            foreign = foreign_amounts(uow, [row.id])[row.id]
    except ShiftProblem as exc:
        raise _problem(exc) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return shift_view(row, reveal=principal.role != "cashier", foreign=foreign)


@router.get("", response_model=list[Shift], response_model_exclude_unset=True)
def list_shifts(
    principal: Cashier,
    request: Request,
    outlet_id: str | None = None,
    register_id: str | None = None,
    status_filter: str | None = Query(default=None, alias="status", pattern="^(open|closed)$"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[dict[str, Any]]:
    query = select(shifts)
    query = principal.where_visible(query, shifts.c.outlet_id, outlet_id)
    if register_id:
        query = query.where(shifts.c.register_id == register_id)
    if status_filter:
        query = query.where(shifts.c.status == status_filter)
    with _ctx(request).db.transaction() as uow:
        rows = uow.session.execute(query.order_by(shifts.c.opened_at.desc()).limit(limit)).all()
        foreign = foreign_amounts(uow, [r.id for r in rows])
    return [shift_view(r, reveal=principal.role != "cashier", foreign=foreign[r.id]) for r in rows]


@router.get("/current", response_model=Shift, response_model_exclude_unset=True)
def current_shift(outlet_id: str, register_id: str, principal: Cashier, request: Request) -> dict[str, Any]:
    """The register's open shift (404 if it has none: open one)."""
    ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(shifts).where(shifts.c.open_slot == slot(outlet_id, register_id))).first()
        foreign = foreign_amounts(uow, [row.id])[row.id] if row is not None else []
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"register {register_id} has no open shift")
    return shift_view(row, reveal=False, foreign=foreign)


@router.get("/{shift_id}", response_model=Shift, response_model_exclude_unset=True)
def get_shift(shift_id: str, principal: Cashier, request: Request) -> dict[str, Any]:
    """A shift. While it is open the expected cash is not shown to anyone (blind close)."""
    with _ctx(request).db.transaction() as uow:
        row = _visible_shift(uow, shift_id, principal)
        foreign = foreign_amounts(uow, [row.id])[row.id]
    return shift_view(row, reveal=True, foreign=foreign)


@router.post(
    "/{shift_id}/cash-movements",
    status_code=status.HTTP_201_CREATED,
    response_model=CashMovement,
    responses=errors({409: "the shift is closed, or the movement id was used for another movement"})
    | unprocessable("a currency the outlet does not accept, or an amount that is not cash in it (or a bad body)"),
)
def move_cash(shift_id: str, body: CashMovementIn, principal: Cashier, request: Request) -> dict[str, Any]:
    """Cash put into (float top-up) or taken out of (a drop to the safe, a supplier paid)
    the drawer, with a reason, in the outlet's currency or (`currency`) one it accepts as
    foreign cash (minor units of it; another currency is a 422). Repeating the same id
    is safe."""
    ctx = _ctx(request)
    try:
        with ctx.db.transaction() as uow:
            row = load_shift(uow, shift_id)
            accepted: list[str] = []
            if row is not None and principal.may_access(row.outlet_id):
                accepted = outlet_policy.load(uow, row.outlet_id, ctx.settings).accepted_currencies
            return add_cash_movement(
                uow, shift_id, body.id, body.kind, body.amount_minor, body.reason, principal, body.currency, accepted
            )
    except ShiftProblem as exc:
        raise _problem(exc) from None


Z_200 = printable_200(
    ZReport, "the Z-report (an X-report while open): JSON (format=json, the default), printer text or 80 mm HTML"
)


def _document(report: dict[str, Any], fmt: Format) -> Response:
    if fmt == "text":
        return PlainTextResponse(render_text(z_report_rows(report)))
    if fmt == "html":
        return HTMLResponse(render_html(z_report_rows(report), f"Z report {report['register_id']}"))
    return JSONResponse(report)


@router.post(
    "/{shift_id}/close",
    responses=Z_200
    | errors({409: "the shift was already closed with another count"})
    | unprocessable("a counted currency the outlet does not accept, or an amount that is not cash in it (or a bad body)"),
)
async def close_register(
    shift_id: str, body: ShiftCloseIn, principal: Cashier, request: Request, format: Format = "json"
) -> Response:
    """Close with a blind count: the cashier enters what is in the drawer, in the outlet's
    currency and (`foreign_counted`) per foreign currency it accepts; the answer is the
    Z-report with, per currency, the expected cash and the difference (over or short; a
    foreign one also converted to the outlet's currency at the rate stamped on the
    shift's last sale in it, else payments' current rate, labelled with its source and
    date), recorded for good and published as ShiftClosed. Closing again with the same
    counts is safe."""
    ctx = _ctx(request)
    counts = {c.currency: c.amount_minor for c in body.foreign_counted}
    accepted, own, unrated = await run_in_threadpool(_close_context, ctx, shift_id, counts, principal)
    rates: dict[str, ConversionRate] = {}
    for code in unrated:  # only a count in a currency the shift sold none of asks payments
        found = await request.app.state.checkout.clients.rate(own, code, principal.token)
        if found and found.get("rate"):
            manual = found.get("manual") or {}
            as_of = manual.get("set_at") if found.get("source") == "manual" and manual else found.get("reference_date")
            rates[code] = ConversionRate(str(found["rate"]), str(found.get("source") or "payments"), str(as_of or ""), "payments")
    try:
        report = await run_in_threadpool(_close, ctx, shift_id, body.counted_cash_minor, principal, counts, accepted, rates)
    except ShiftProblem as exc:
        raise _problem(exc) from None
    return _document(report, format)


def _close_context(
    ctx: ServiceContext, shift_id: str, counts: dict[str, int], principal: Principal
) -> tuple[list[str], str, list[str]]:
    """(the outlet's accepted currencies, its currency, the counted foreign currencies
    without a sale-stamped rate in the shift): read before asking payments for rates."""
    with ctx.db.transaction() as uow:
        row = load_shift(uow, shift_id)
        if row is None or not principal.may_access(row.outlet_id):
            return [], "", []
        accepted = outlet_policy.load(uow, row.outlet_id, ctx.settings).accepted_currencies
        if row.status != "open":
            return accepted, row.currency, []
        stamped = stamped_rates(uow, shift_id)
    unrated = [c for c in sorted(counts) if c in accepted and c != row.currency and c not in stamped]
    return accepted, row.currency, unrated


def _close(
    ctx: ServiceContext,
    shift_id: str,
    counted: int,
    principal: Principal,
    counts: dict[str, int],
    accepted: list[str],
    rates: dict[str, ConversionRate],
) -> dict[str, Any]:
    with ctx.db.transaction() as uow:
        return close_shift(uow, shift_id, counted, principal, counts, accepted, rates)


@router.get(
    "/{shift_id}/z-report",
    responses=Z_200 | errors({409: "the shift is open: a cashier gets its Z-report once it is closed"}),
)
def get_z_report(shift_id: str, principal: Cashier, request: Request, format: Format = "json") -> Response:
    """The Z-report of a closed shift (as JSON, 80 mm HTML or printer text). An open
    shift has none yet: close it first."""
    with _ctx(request).db.transaction() as uow:
        row = _visible_shift(uow, shift_id, principal)
        if row.status != "closed":
            if principal.role == "cashier":
                raise HTTPException(
                    status.HTTP_409_CONFLICT, "the shift is open: close it with a blind count to get its Z-report"
                )
            # A manager may look mid-shift (an X-report): nothing is recorded.
            report = z_report(uow, row)
        else:
            report = json.loads(row.z_report)
    return _document(report, format)
