"""Identity's events the low-stock digest keeps: each outlet's time zone (OutletCreated,
OutletChanged)
and the staff's addresses and roles (UserChanged)."""

from __future__ import annotations

import json
from collections.abc import Callable

from pos_contracts import Envelope
from pos_contracts.events import OutletCreated, UserChanged
from pos_inventory.digest_tables import outlet_zones, staff
from pos_platform.db import UnitOfWork, upsert

OutletHandler = Callable[[UnitOfWork, OutletCreated, Envelope], None]


def with_zone(replica: OutletHandler) -> OutletHandler:
    """The outlets replica's handler, also keeping the outlet's time zone."""

    def on_outlet_created(uow: UnitOfWork, event: OutletCreated, envelope: Envelope) -> None:
        replica(uow, event, envelope)
        upsert(uow.session, outlet_zones, {"outlet_id": event.outlet_id}, sets={"timezone": event.timezone or "UTC"})

    return on_outlet_created


def on_user_changed(uow: UnitOfWork, event: UserChanged, _envelope: Envelope) -> None:
    upsert(
        uow.session,
        staff,
        {"user_id": event.user_id},
        sets={
            "email": event.email,
            "name": event.name,
            "role": event.role,
            "outlets": json.dumps(sorted(event.outlets)),
            "active": event.active,
        },
    )
