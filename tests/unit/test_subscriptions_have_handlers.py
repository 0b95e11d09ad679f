"""Every event type a service's queue is bound to has a handler in that service: the
consumer dead-letters an event it has no handler for (an unknown type is a contract
problem, not something to ack silently), so a binding without a handler would send
every such event to the dead-letter list."""

from __future__ import annotations

import importlib

import pytest

from pos_contracts.topology import SUBSCRIPTIONS


@pytest.mark.parametrize("service", sorted(SUBSCRIPTIONS))
def test_every_subscribed_type_has_a_handler(service: str) -> None:
    handlers = importlib.import_module(f"pos_{service}.handlers").HANDLERS
    subscribed = {key.split(".", 1)[1] for key in SUBSCRIPTIONS[service]}
    assert subscribed - set(handlers) == set(), f"{service} is bound to types it cannot handle"
