"""Contracts shared by every POS service: the event envelope, the versioned event
models and the messaging topology (who publishes what, who consumes what)."""

from pos_contracts.envelope import Envelope, new_envelope
from pos_contracts.events import EVENT_TYPES, Event, parse_payload

__all__ = ["EVENT_TYPES", "Envelope", "Event", "new_envelope", "parse_payload"]
