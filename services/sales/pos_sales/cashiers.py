"""Who sold an offline sale. A till that sold offline may sync under another session
than the cashier's who sold (another cashier logged in on a second tab of the till, or
the cashier's session ended while offline); the sale body names its cashier, and sales
takes that name when identity announced that user at the sale's outlet (UserChanged,
kept in `known_users`). A name sales cannot vouch for is not taken on the till's word:
the sale is recorded under the session that synced it and listed for a manager
(`cashier_unknown`), never refused (the sale left the shop)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from pos_contracts import Envelope
from pos_contracts.events import UserChanged
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork, upsert_newest
from pos_sales.tables import known_users

_USER = select(known_users).where(known_users.c.user_id == bindparam("user_id"))  # built once


@dataclass(frozen=True)
class Cashier:
    user_id: str
    name: str
    # why the till's cashier was not taken (None: it was, or the till named none)
    problem: str | None = None
    # the user the till named is known to identity, at another outlet
    named_elsewhere: bool = False


def who_sold(uow: UnitOfWork, outlet_id: str, named: str | None, principal: Principal) -> Cashier:
    """The cashier to record: the one the till names when identity announced them with
    this outlet (or as an admin; deactivated since still counts: they sold before),
    otherwise the session that synced the sale, with the reason."""
    if named is None or named == principal.user_id:
        return Cashier(principal.user_id, principal.name)
    row = uow.session.execute(_USER, {"user_id": named}).first()
    if row is not None and (row.role == "admin" or outlet_id in json.loads(row.outlets)):
        return Cashier(row.user_id, row.name)
    why = "is not a user identity has announced" if row is None else "is not a user of this outlet"
    return Cashier(
        principal.user_id,
        principal.name,
        f"the till says {named} sold it, who {why}: recorded under {principal.name}, whose session synced it",
        named_elsewhere=row is not None,
    )


def on_user_changed(uow: UnitOfWork, event: UserChanged, envelope: Envelope) -> None:
    """Keep the replica at the newest announcement of each user."""
    upsert_newest(
        uow.session,
        known_users,
        {"user_id": event.user_id},
        envelope.occurred_at.replace(tzinfo=None),
        {"name": event.name, "role": event.role, "outlets": json.dumps(sorted(event.outlets)), "active": event.active},
    )
