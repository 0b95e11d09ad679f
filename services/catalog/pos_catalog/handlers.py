"""Event handlers: each runs inside the consumer's transaction (with the inbox row)."""

from __future__ import annotations

from pos_catalog.tables import known_outlets
from pos_platform.consumer import EventHandler
from pos_platform.outlets import outlet_replica_handler

HANDLERS: dict[str, EventHandler] = {
    # Outlets, so that a shelf price for an outlet that does not exist is refused.
    "OutletCreated": outlet_replica_handler(known_outlets),
}
