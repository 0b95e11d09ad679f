"""Events identity consumes: other services' audit entries join its hash chain."""

from __future__ import annotations

from pos_contracts import Envelope
from pos_contracts.events import AuditRecorded
from pos_identity import audit
from pos_platform.consumer import EventHandler
from pos_platform.db import UnitOfWork


def on_audit_recorded(uow: UnitOfWork, event: AuditRecorded, envelope: Envelope) -> None:
    """Append the producer's entry. The consumer's inbox row (same transaction) makes it
    exactly once per event id: a redelivered or duplicated message appends nothing."""
    audit.record(
        uow,
        event.action,
        outcome=event.outcome,
        service=envelope.producer,
        actor_id=event.actor_id,
        actor_email=event.actor_email,
        actor_role=event.actor_role,
        target_type=event.target_type,
        target_id=event.target_id,
        outlet_id=event.outlet_id or envelope.outlet_id,
        source_ip=event.source_ip,
        request_id=envelope.correlation_id,
        # When the action happened (the entry's `at` is when the chain took it).
        details={**event.details, "event_id": envelope.event_id, "occurred_at": envelope.occurred_at.isoformat()},
    )


HANDLERS: dict[str, EventHandler] = {"AuditRecorded": on_audit_recorded}


def handlers() -> dict[str, EventHandler]:
    return HANDLERS
