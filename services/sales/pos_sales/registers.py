"""The registers a sale, shift, parked cart or refund may name: identity's, as its
RegisterChanged events announced them. A register belongs to one outlet and has a
number there (1, 2, ...); receipt numbers are `R<number>-<sequence>`, so two registers
of one outlet never print the same number, and each register's sequence has no gaps."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from pos_contracts import Envelope
from pos_contracts.events import RegisterChanged
from pos_platform.db import Database, UnitOfWork, upsert_newest
from pos_sales.domain import CheckoutError
from pos_sales.tables import known_registers

# How long a request naming a register nobody announced waits for its RegisterChanged
# (an admin made it a moment ago) before it is refused.
WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Register:
    register_id: str
    outlet_id: str
    number: int
    name: str
    active: bool


class RegisterProblem(CheckoutError):
    """The register named cannot take this: unknown at the outlet (`unknown`), or
    deactivated. A 422 with a message the cashier can act on."""

    def __init__(self, message: str, *, unknown: bool) -> None:
        super().__init__(message)
        self.unknown = unknown


_REGISTER = select(known_registers).where(known_registers.c.register_id == bindparam("register_id"))  # built once


def find(uow: UnitOfWork, register_id: str) -> Register | None:
    row = uow.session.execute(_REGISTER, {"register_id": register_id}).first()
    return None if row is None else Register(row.register_id, row.outlet_id, row.number, row.name, row.active)


def usable(uow: UnitOfWork, outlet_id: str, register_id: str | None, *, must_be_active: bool = True) -> Register | None:
    """The register a request at `outlet_id` names (None when it names none), or
    RegisterProblem. Another outlet's register is unknown here, as is a made-up id."""
    if register_id is None:
        return None
    register = find(uow, register_id)
    if register is None or register.outlet_id != outlet_id:
        raise RegisterProblem(
            f"register {register_id} is not a register of outlet {outlet_id}: choose one of the outlet's registers "
            "(an admin adds them under Back office -> Outlets)",
            unknown=True,
        )
    if must_be_active and not register.active:
        raise RegisterProblem(
            f"register {register.number} ({register.name}) is deactivated: choose another register, or ask an admin to reactivate it",
            unknown=False,
        )
    return register


def wait_until_known(db: Database, register_id: str, seconds: float = WAIT_SECONDS) -> bool:
    """Poll the replica for a register whose RegisterChanged may be on its way."""
    deadline = time.monotonic() + seconds
    while True:
        with db.transaction() as uow:
            if find(uow, register_id) is not None:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def require(db: Database, outlet_id: str, register_id: str | None, *, must_be_active: bool = True) -> Register | None:
    """`usable`, in its own transaction, waiting up to WAIT_SECONDS for a register not
    yet announced (for the paths that are not the checkout's first transaction)."""
    if register_id is None:
        return None
    try:
        with db.transaction() as uow:
            return usable(uow, outlet_id, register_id, must_be_active=must_be_active)
    except RegisterProblem as problem:
        if not problem.unknown or not wait_until_known(db, register_id):
            raise
    with db.transaction() as uow:
        return usable(uow, outlet_id, register_id, must_be_active=must_be_active)


def receipt_label(register_id: str | None, register_number: int | None, number: int) -> str:
    """`R<register number>-<6-digit sequence>`; `R<7 digits>` for a sale rung without a
    register (the outlet's own sequence, as before). A sale drafted before registers had
    numbers, on a register identity never announced, keeps the old label."""
    if not register_id:
        return f"R{number:07d}"
    if register_number is not None:
        return f"R{register_number}-{number:06d}"
    label = register_id if len(register_id) <= 12 else register_id[:8]
    return f"{label}-{number:06d}"


def on_register_changed(uow: UnitOfWork, event: RegisterChanged, envelope: Envelope) -> None:
    """Keep the replica at the newest announcement (a register's outlet and number never
    change; its name and whether it is active do)."""
    upsert_newest(
        uow.session,
        known_registers,
        {"register_id": event.register_id},
        envelope.occurred_at.replace(tzinfo=None),
        {"outlet_id": event.outlet_id, "number": event.number, "name": event.name, "active": event.active},
    )


def require_or_422(db: Database, outlet_id: str, register_id: str | None, *, must_be_active: bool = True) -> Register | None:
    """`require` for a route: a RegisterProblem is a 422 with its message."""
    from fastapi import HTTPException, status

    try:
        return require(db, outlet_id, register_id, must_be_active=must_be_active)
    except RegisterProblem as problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(problem)) from None
