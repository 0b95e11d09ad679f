"""A service's replica of identity's outlets (fed by OutletCreated): what lets it refuse
an outlet id that names no outlet when the caller's token cannot vouch for it (an admin,
or the internal service token, may name any outlet). A cashier's or manager's token
lists their outlets, signed by identity: those need no look-up."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from fastapi import HTTPException, status
from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from starlette.concurrency import run_in_threadpool

from pos_contracts import Envelope
from pos_contracts.events import OutletCreated
from pos_platform.auth import Principal, ensure_outlet
from pos_platform.db import Database, UnitOfWork, upsert, utcnow


def outlets_table(metadata: MetaData) -> Table:
    if "known_outlets" in metadata.tables:
        return metadata.tables["known_outlets"]
    return Table(
        "known_outlets",
        metadata,
        Column("outlet_id", String(36), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )


class UnknownOutlet(Exception):
    """No outlet has this id (or its OutletCreated has not arrived within the wait)."""


def outlet_replica_handler(table: Table) -> Callable[[UnitOfWork, OutletCreated, Envelope], None]:
    """The OutletCreated handler keeping `table` (a service's outlets_table) current."""

    def on_outlet_created(uow: UnitOfWork, event: OutletCreated, _envelope: Envelope) -> None:
        upsert(
            uow.session,
            table,
            {"outlet_id": event.outlet_id},
            sets={"name": event.name, "currency": event.currency, "updated_at": utcnow()},
        )

    return on_outlet_created


# How long a request waits for an outlet made a moment ago: identity's relay, the broker
# and this service's consumer under a busy box (CI found 2 s too short for an admin who
# makes an outlet and at once receives stock into it).
OUTLET_WAIT_SECONDS = 5.0


def require_outlet(db: Database, principal: Principal | None, outlet_id: str, wait_seconds: float = OUTLET_WAIT_SECONDS) -> None:
    """Raise UnknownOutlet unless `outlet_id` names an outlet: vouched for by the
    caller's own token, or in the replica (waiting up to `wait_seconds` for an outlet
    created a moment ago, whose OutletCreated may still be on its way). An id that is
    not a UUID, as identity makes them, is not waited for: no event will bring it."""
    if principal is not None and not principal.is_admin and outlet_id in principal.outlets:
        return
    table = outlets_table(db.metadata)
    query = select(table.c.outlet_id).where(table.c.outlet_id == outlet_id)
    deadline = time.monotonic() + (wait_seconds if _is_uuid(outlet_id) else 0.0)
    while True:
        with db.transaction() as uow:
            if uow.session.scalar(query) is not None:
                return
        if time.monotonic() >= deadline:
            raise UnknownOutlet(outlet_id)
        time.sleep(0.1)


def replica_currency(db: Database, outlet_id: str, wait_seconds: float = OUTLET_WAIT_SECONDS) -> str | None:
    """The outlet's currency as identity announced it (the replica's), waiting like
    `require_outlet` for an outlet made a moment ago; None when it has not arrived."""
    try:
        require_outlet(db, None, outlet_id, wait_seconds)
    except UnknownOutlet:
        return None
    table = outlets_table(db.metadata)
    with db.transaction() as uow:
        return uow.session.scalar(select(table.c.currency).where(table.c.outlet_id == outlet_id))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def ensure_known_outlet(db: Database, principal: Principal, outlet_id: str) -> None:
    """For a write naming an outlet: the caller may act there (else 404, as for any other
    outlet's object), and the outlet exists (else 404 too: nothing is written for it)."""
    ensure_outlet(principal, outlet_id)
    try:
        require_outlet(db, principal, outlet_id)
    except UnknownOutlet:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"outlet {outlet_id} not found") from None


async def ensure_known_outlet_async(db: Database, principal: Principal, outlet_id: str) -> None:
    """`ensure_known_outlet` for an async route: the replica is read in a worker thread,
    and only when the caller's token does not vouch for the outlet (no hop otherwise)."""
    ensure_outlet(principal, outlet_id)
    if principal.is_admin or outlet_id not in principal.outlets:
        await run_in_threadpool(ensure_known_outlet, db, principal, outlet_id)
