"""Sensitive actions reported to identity's hash-chained audit log (ADR 0041, ADR 0043).

A service that owns an audited action (a refund, a void, a price change, a stock
adjustment, a manual override) calls `record_audit` inside the transaction of the action
itself: the AuditRecorded event goes to that service's outbox, so the entry exists if
and only if the action does, and identity appends it to the chain exactly once (its
inbox). Nothing here calls identity: an audited action never waits for it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from pos_contracts.events import AuditRecorded
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork

# Keys that must never reach the chain, whatever a caller passes in `details`.
_SECRET_KEYS = frozenset({"password", "pin", "token", "approval_token", "access_token", "card_token", "approved_by_token"})


def source_ip(request: Request | None) -> str | None:
    return request.client.host if request is not None and request.client else None


def audit_event(
    action: str,
    *,
    target_type: str,
    target_id: str | None,
    outlet_id: str | None,
    actor: Principal | None = None,
    actor_id: str | None = None,
    request: Request | None = None,
    client_ip: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "success",
) -> AuditRecorded:
    """The event for one audited action. `actor` (the caller) fills who; `actor_id`
    alone names a user when the action is finished with nobody at hand (a refund the
    reconciler completes: its cashier). The source address is the `request`'s, or
    `client_ip` from a use case that was given it instead of the request."""
    clean = {k: v for k, v in (details or {}).items() if k not in _SECRET_KEYS}
    return AuditRecorded(
        action=action,
        outcome=outcome,
        actor_id=actor.user_id if actor is not None else actor_id,
        actor_email=(actor.email or None) if actor is not None else None,
        actor_role=actor.role if actor is not None else None,
        target_type=target_type,
        target_id=target_id,
        outlet_id=outlet_id,
        source_ip=source_ip(request) if request is not None else client_ip,
        details=clean,
    )


def record_audit(uow: UnitOfWork, action: str, **fields: Any) -> AuditRecorded:
    """Publish an AuditRecorded (see `audit_event`) through `uow`'s outbox, in its
    transaction; returns the event."""
    event = audit_event(action, **fields)
    uow.publish(event, outlet_id=event.outlet_id)
    return event
