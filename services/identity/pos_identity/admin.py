"""Administration: outlets, registers, users and the audit log. Deny by default: each
endpoint names the roles it allows, and outlet-scoped reads show only the caller's.
Admins manage everything; a manager manages the registers of their own outlets."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import IntegrityError

from pos_contracts.events import OutletChanged, OutletCreated, RegisterChanged
from pos_identity import accounts, audit
from pos_identity.domain import hash_password, password_problem, pin_problem
from pos_identity.schemas import (
    AuditEntryOut,
    AuditPage,
    AuditVerdictOut,
    CurrencyList,
    CurrencyOut,
    OutletIn,
    OutletOut,
    OutletUpdate,
    RegisterIn,
    RegisterOut,
    RegisterUpdate,
    UserIn,
    UserOut,
    UserUpdate,
)
from pos_identity.tables import audit_log, outlets, registers, users
from pos_identity.web import audit_record, ctx, unprocessable
from pos_platform.app import MAX_ID
from pos_platform.auth import Admin, CurrentUser, Manager, Principal, ensure_outlet
from pos_platform.currencies import ISO_TABLE_PUBLISHED, currencies
from pos_platform.db import UnitOfWork, utcnow
from pos_platform.openapi import errors

router = APIRouter(prefix="/api/identity", tags=["administration"])

REGISTER_OUTLET_NOT_YOURS = "you can only add registers to the outlets you work at: ask an admin for another outlet"


def _outlet_out(row: Any) -> OutletOut:
    return OutletOut(id=row.id, name=row.name, currency=row.currency, timezone=row.timezone)


def _register_out(row: Any) -> RegisterOut:
    return RegisterOut(id=row.id, outlet_id=row.outlet_id, number=row.number, name=row.name, active=row.active)


def _register_changed(register: RegisterOut) -> RegisterChanged:
    return RegisterChanged(
        register_id=register.id, outlet_id=register.outlet_id, number=register.number, name=register.name, active=register.active
    )


Saved = TypeVar("Saved", OutletOut, RegisterOut)


def _apply(uow: UnitOfWork, table: Table, key: str, changes: dict[str, Any], read: Callable[[], Saved]) -> tuple[Saved, Saved]:
    """An outlet's or register's row changed by `changes` (none: left as it is): how
    `read` saw it before and after."""
    before = read()
    if changes:
        uow.session.execute(update(table).where(table.c.id == key).values(**changes))
    return before, read()


def _audit_saved(
    uow: UnitOfWork, request: Request, actor: Principal, kind: str, outlet_id: str, before: Saved | None, after: Saved
) -> None:
    """`outlet.created`/`register.created` (with the fields after), or `.updated` (before
    and after), about `after`."""
    audit_record(
        uow,
        request,
        f"{kind}.created" if before is None else f"{kind}.updated",
        actor=actor,
        target_type=kind,
        target_id=after.id,
        outlet_id=outlet_id,
        details={"after": after.model_dump()} if before is None else {"before": before.model_dump(), "after": after.model_dump()},
    )


def _check_outlets_exist(uow: UnitOfWork, outlet_ids: list[str]) -> None:
    known = set(uow.session.scalars(select(outlets.c.id).where(outlets.c.id.in_(outlet_ids))))
    unknown = sorted(set(outlet_ids) - known)
    if unknown:
        raise unprocessable("outlets", f"unknown outlet ids: {', '.join(unknown)}")


# --- outlets -----------------------------------------------------------------------------


@router.get("/currencies", response_model=CurrencyList)
def list_currencies(_principal: CurrentUser) -> CurrencyList:
    """The ISO 4217 currencies an outlet may be in (a picker's list): code, name, minor
    units and the smallest cash unit, by code. Funds, metals and test codes are left out."""
    return CurrencyList(
        iso_table_published=ISO_TABLE_PUBLISHED.isoformat(),
        currencies=[
            CurrencyOut(code=c.code, name=c.name, numeric=c.numeric, minor_units=c.minor_units, cash_unit_minor=c.cash_unit_minor)
            for c in currencies().values()
        ],
    )


@router.get("/outlets", response_model=list[OutletOut])
def list_outlets(principal: CurrentUser, request: Request) -> list[OutletOut]:
    query = select(outlets).order_by(outlets.c.name)
    if not principal.is_admin:
        query = query.where(outlets.c.id.in_(principal.outlets))
    with ctx(request).db.transaction() as uow:
        rows = uow.session.execute(query).all()
    return [_outlet_out(r) for r in rows]


@router.post(
    "/outlets",
    response_model=OutletOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors({409: "an outlet of that name exists"}),
)
def create_outlet(body: OutletIn, admin: Admin, request: Request) -> OutletOut:
    outlet = OutletOut(id=str(uuid.uuid4()), name=body.name, currency=body.currency, timezone=body.timezone)
    try:
        with ctx(request).db.transaction() as uow:
            uow.session.execute(outlets.insert().values(**outlet.model_dump(), created_at=utcnow()))
            uow.publish(
                OutletCreated(outlet_id=outlet.id, name=outlet.name, currency=outlet.currency, timezone=outlet.timezone),
                outlet_id=outlet.id,
            )
            _audit_saved(uow, request, admin, "outlet", outlet.id, None, outlet)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"an outlet named {body.name!r} already exists") from None
    return outlet


def _outlet_row(uow: UnitOfWork, principal: Any, outlet_id: str, *, lock: bool = False) -> Any:
    ensure_outlet(principal, outlet_id)
    query = select(outlets).where(outlets.c.id == outlet_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "outlet not found")
    return row


@router.get("/outlets/{outlet_id}", response_model=OutletOut)
def get_outlet(outlet_id: str, principal: CurrentUser, request: Request) -> OutletOut:
    with ctx(request).db.transaction() as uow:
        return _outlet_out(_outlet_row(uow, principal, outlet_id))


@router.patch("/outlets/{outlet_id}", response_model=OutletOut, responses=errors({409: "an outlet of that name exists"}))
def update_outlet(outlet_id: str, body: OutletUpdate, admin: Admin, request: Request) -> OutletOut:
    changes = body.model_dump(exclude_none=True)
    try:
        with ctx(request).db.transaction() as uow:
            before, after = _apply(uow, outlets, outlet_id, changes, lambda: _outlet_out(_outlet_row(uow, admin, outlet_id)))
            if after != before:
                # Sales, inventory and reports keep the name and time zone from here (ADR 0072).
                uow.publish(
                    OutletChanged(outlet_id=after.id, name=after.name, currency=after.currency, timezone=after.timezone),
                    outlet_id=after.id,
                )
            _audit_saved(uow, request, admin, "outlet", outlet_id, before, after)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"an outlet named {body.name!r} already exists") from None
    return after


# --- registers ---------------------------------------------------------------------------


@router.get("/registers", response_model=list[RegisterOut])
def list_registers(principal: CurrentUser, request: Request, outlet_id: str | None = None) -> list[RegisterOut]:
    query = select(registers).order_by(registers.c.outlet_id, registers.c.name)
    query = principal.where_visible(query, registers.c.outlet_id, outlet_id)
    with ctx(request).db.transaction() as uow:
        return [_register_out(r) for r in uow.session.execute(query).all()]


@router.post(
    "/registers",
    response_model=RegisterOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        {
            403: f"{REGISTER_OUTLET_NOT_YOURS}; or the caller is a cashier",
            409: "the outlet already has a register of that name or number",
        }
    ),
)
def create_register(body: RegisterIn, manager: Manager, request: Request) -> RegisterOut:
    """A register (till) of an outlet: an admin's at any outlet, a manager's at the
    outlets they work at (403 for any other, whether it exists or not). Its number,
    printed in every receipt number it issues, is the next free one in the outlet unless
    given; it never changes and is never reused, so receipt numbers stay unique in the
    outlet."""
    if not manager.may_access(body.outlet_id):
        # Decided from the token alone: says nothing about whether that outlet exists.
        raise HTTPException(status.HTTP_403_FORBIDDEN, REGISTER_OUTLET_NOT_YOURS)
    try:
        with ctx(request).db.transaction() as uow:
            # The outlet's row lock makes "the next free number" one at a time.
            _outlet_row(uow, manager, body.outlet_id, lock=True)
            number = (
                body.number
                or (uow.session.scalar(select(func.max(registers.c.number)).where(registers.c.outlet_id == body.outlet_id)) or 0)
                + 1
            )
            if number > 999:
                raise unprocessable("number", "the outlet has 999 registers: no number is left")
            register = RegisterOut(id=str(uuid.uuid4()), outlet_id=body.outlet_id, number=number, name=body.name, active=True)
            uow.session.execute(registers.insert().values(**register.model_dump(), created_at=utcnow()))
            uow.publish(_register_changed(register), outlet_id=register.outlet_id)
            _audit_saved(uow, request, manager, "register", body.outlet_id, None, register)
    except IntegrityError:
        what = f"named {body.name!r}" + (f" or numbered {body.number}" if body.number else "")
        raise HTTPException(status.HTTP_409_CONFLICT, f"the outlet already has a register {what}") from None
    return register


def _register_row(uow: UnitOfWork, principal: Any, register_id: str) -> Any:
    row = uow.session.execute(select(registers).where(registers.c.id == register_id)).first()
    if row is None or not principal.may_access(row.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "register not found")
    return row


@router.get("/registers/{register_id}", response_model=RegisterOut)
def get_register(register_id: str, principal: CurrentUser, request: Request) -> RegisterOut:
    with ctx(request).db.transaction() as uow:
        return _register_out(_register_row(uow, principal, register_id))


@router.patch(
    "/registers/{register_id}", response_model=RegisterOut, responses=errors({409: "the outlet has a register of that name"})
)
def update_register(register_id: str, body: RegisterUpdate, manager: Manager, request: Request) -> RegisterOut:
    """Rename a register, or switch it off (tills can no longer pick it; its shifts and
    receipt numbers stay) and on again: an admin's, or a manager's of that outlet. Another
    outlet's register answers 404, as it does to GET."""
    changes = body.model_dump(exclude_none=True)
    try:
        with ctx(request).db.transaction() as uow:
            before, after = _apply(
                uow, registers, register_id, changes, lambda: _register_out(_register_row(uow, manager, register_id))
            )
            if after != before:
                uow.publish(_register_changed(after), outlet_id=after.outlet_id)
            _audit_saved(uow, request, manager, "register", after.outlet_id, before, after)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the outlet already has a register named {body.name!r}") from None
    return after


# --- users -------------------------------------------------------------------------------


def _user_row(uow: UnitOfWork, user_id: str) -> Any:
    row = accounts.get_user(uow, user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    return row


@router.get("/users", response_model=list[UserOut])
def list_users(_admin: Admin, request: Request, outlet_id: str | None = None) -> list[UserOut]:
    with ctx(request).db.transaction() as uow:
        rows = uow.session.execute(select(users).order_by(users.c.email)).all()
    now = utcnow()
    return [accounts.user_out(r, now) for r in rows if outlet_id is None or outlet_id in (r.outlets or [])]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors({409: "a user with that email exists"}),
)
def create_user(body: UserIn, admin: Admin, request: Request) -> UserOut:
    if problem := password_problem(body.password, email=body.email, name=body.name):
        raise unprocessable("password", problem)
    if body.pin and (problem := pin_problem(body.pin)):
        raise unprocessable("pin", problem)
    outlet_ids = sorted(set(body.outlets))
    try:
        with ctx(request).db.transaction() as uow:
            _check_outlets_exist(uow, outlet_ids)
            user = accounts.create_user_row(
                uow, email=body.email, name=body.name, password=body.password, role=body.role, outlet_ids=outlet_ids, pin=body.pin
            )
            audit_record(
                uow,
                request,
                "user.created",
                actor=admin,
                target_type="user",
                target_id=user.id,
                details={"after": user.model_dump(mode="json")},
            )
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"a user with email {body.email!r} already exists") from None
    return user


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: str, _admin: Admin, request: Request) -> UserOut:
    with ctx(request).db.transaction() as uow:
        return accounts.user_out(_user_row(uow, user_id))


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses=errors({409: "the last active admin cannot be disabled or demoted"})
)
def update_user(user_id: str, body: UserUpdate, admin: Admin, request: Request) -> UserOut:
    """Role, outlets, name, active, password or PIN. A new role or outlet list is in the
    user's token by its next refresh at the latest; disabling the user or setting a new
    password ends every session of theirs now."""
    now = utcnow()
    with ctx(request).db.transaction() as uow:
        row = _user_row(uow, user_id)
        if body.password is not None and (
            problem := password_problem(body.password, email=row.email, name=body.name or row.name)
        ):
            raise unprocessable("password", problem)
        if body.pin is not None and (problem := pin_problem(body.pin)):
            raise unprocessable("pin", problem)
        changes: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"password", "pin"})
        if "outlets" in changes:
            changes["outlets"] = sorted(set(changes["outlets"]))
            _check_outlets_exist(uow, changes["outlets"])
        demoted = row.role == "admin" and (changes.get("role", "admin") != "admin" or changes.get("active") is False)
        if demoted and row.active and accounts.count_active_admins(uow) <= 1:
            raise HTTPException(status.HTTP_409_CONFLICT, "the last active admin cannot be disabled or demoted")
        if body.password is not None:
            changes["password_hash"] = hash_password(body.password)
        if body.pin is not None:
            changes.update(pin_hash=hash_password(body.pin), failed_pins=0, pin_locked_until=None)
        before = accounts.user_out(row, now)
        uow.session.execute(update(users).where(users.c.id == user_id).values(**changes, updated_at=now))
        row = _user_row(uow, user_id)
        after = accounts.user_out(row, now)
        revoke_reason = "disabled" if changes.get("active") is False else "password_reset" if body.password is not None else None
        if revoke_reason:
            accounts.revoke_user_tokens(uow, user_id, revoke_reason, now)
        accounts.publish_user_changed(uow, row)
        changed = sorted(k for k in body.model_dump(exclude_none=True))
        audit_record(
            uow,
            request,
            "user.updated",
            actor=admin,
            target_type="user",
            target_id=user_id,
            details={"changed": changed, "before": before.model_dump(mode="json"), "after": after.model_dump(mode="json")},
        )
    return after


@router.post("/users/{user_id}/unlock", response_model=UserOut)
def unlock_user(user_id: str, admin: Admin, request: Request) -> UserOut:
    """Lifts a password or PIN lockout before its window ends."""
    with ctx(request).db.transaction() as uow:
        _user_row(uow, user_id)
        uow.session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(failed_logins=0, locked_until=None, failed_pins=0, pin_locked_until=None)
        )
        audit_record(uow, request, "user.unlocked", actor=admin, target_type="user", target_id=user_id)
        return accounts.user_out(_user_row(uow, user_id))


# --- audit -------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditPage)
def list_audit(
    _admin: Admin,
    request: Request,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    outlet_id: Annotated[str | None, Query(max_length=36)] = None,
    service: Annotated[
        str | None, Query(max_length=32, description="who wrote it: identity, sales, catalog, inventory, payments")
    ] = None,
    target_id: Annotated[str | None, Query(max_length=64, description="e.g. a sale, refund, product or count id")] = None,
    since: datetime | None = None,
    after_seq: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Who did what, when and from where, oldest first; page with after_seq."""
    query = select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq).limit(limit + 1)
    if service:
        query = query.where(audit_log.c.service == service)
    if target_id:
        query = query.where(audit_log.c.target_id == target_id)
    if action:
        query = query.where(audit_log.c.action == action)
    if actor_id:
        query = query.where(audit_log.c.actor_id == actor_id)
    if outlet_id:
        query = query.where(audit_log.c.outlet_id == outlet_id)
    if since:
        query = query.where(audit_log.c.at >= (since.astimezone(UTC) if since.tzinfo else since).replace(tzinfo=None))
    with ctx(request).db.transaction() as uow:
        rows = uow.session.execute(query).all()
    entries = [AuditEntryOut.model_validate(dict(r._mapping)) for r in rows[:limit]]
    return AuditPage(entries=entries, next_after_seq=entries[-1].seq if len(rows) > limit else None)


@router.get("/audit/verify", response_model=AuditVerdictOut)
def verify_audit(_admin: Admin, request: Request) -> AuditVerdictOut:
    """Walks the whole chain (as `python -m pos_identity.audit verify` does)."""
    verdict = audit.verify(ctx(request).db)
    return AuditVerdictOut(**verdict.__dict__, message=str(verdict))


_EXPORT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "the entries, oldest first"},
    },
)
def export_audit(
    admin: Admin,
    request: Request,
    since: Annotated[datetime | None, Query(description="entries at or after this moment (a date is its midnight, UTC)")] = None,
    until: Annotated[datetime | None, Query(description="entries before this moment (a date is its midnight, UTC)")] = None,
    format: Annotated[audit.ExportFormat, Query(description="JSON lines (one entry a line) or CSV")] = "jsonl",
) -> StreamingResponse:
    """The chain's entries for a date range, every column including `prev_hash` and
    `hash` (`python -m pos_identity.audit export` gives the same). The export itself is
    recorded in the chain (`audit.exported`)."""
    start = audit.moment(since) if since else None
    end = audit.moment(until) if until else None
    if start and end and end <= start:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", "until"], "msg": f"until ({until}) must be after since ({since})", "type": "value_error"}],
        )
    with ctx(request).db.transaction() as uow:
        audit_record(
            uow,
            request,
            "audit.exported",
            actor=admin,
            target_type="audit_log",
            details={
                "since": start.isoformat() + "Z" if start else None,
                "until": end.isoformat() + "Z" if end else None,
                "format": format,
            },
        )
    engine = ctx(request).db.engine

    def body() -> Iterator[str]:
        with engine.connect() as conn:
            yield from audit.export_lines(audit.export_rows(conn, start, end), format)

    stamp = f"{start.date() if start else 'start'}_{end.date() if end else 'now'}"
    return StreamingResponse(
        body(),
        media_type=_EXPORT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{format}"'},
    )


@router.delete("/sessions/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_user_sessions(user_id: str, admin: Admin, request: Request) -> Response:
    """Ends every session (refresh token) of a user, e.g. a lost or stolen till."""
    now = utcnow()
    with ctx(request).db.transaction() as uow:
        _user_row(uow, user_id)
        accounts.revoke_user_tokens(uow, user_id, "admin", now)
        audit_record(uow, request, "user.sessions_ended", actor=admin, target_type="user", target_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
