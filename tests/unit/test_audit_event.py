"""pos_platform.audit: what a service's audit event carries, and what it never does."""

from __future__ import annotations

from pos_contracts.events import AuditRecorded
from pos_platform.audit import audit_event
from pos_platform.auth import Principal


def test_the_caller_is_the_actor_and_secrets_never_reach_the_event() -> None:
    bearer = "eyJ..."
    caller = Principal(user_id="u-1", email="m@example.com", role="manager", outlets=["o-1"], token=bearer)
    event = audit_event(
        "stock.adjusted",
        actor=caller,
        target_type="product",
        target_id="p-1",
        outlet_id="o-1",
        details={"delta": -2, "pin": "2580", "token": "eyJ...", "approval_token": "eyJ...", "password": "x"},
    )
    assert isinstance(event, AuditRecorded)
    assert (event.actor_id, event.actor_email, event.actor_role, event.outlet_id) == ("u-1", "m@example.com", "manager", "o-1")
    assert event.details == {"delta": -2}
    assert "eyJ" not in event.model_dump_json()


def test_without_a_caller_the_actor_is_named_by_id_only() -> None:
    event = audit_event("sale.refunded", actor_id="cashier-1", target_type="refund", target_id="r-1", outlet_id="o-1")
    assert (event.actor_id, event.actor_email, event.actor_role, event.source_ip) == ("cashier-1", None, None, None)
