"""The dead-letter list an operator works from (every consuming service has it; inventory
stands for all three here): what the consumer gave up on and why, replay once the cause
is fixed, discard with a note, and the pending count in /metrics."""

from __future__ import annotations

import asyncio
import re
import uuid

from fastapi.testclient import TestClient

from pos_platform.consumer import EventConsumer

from .conftest import A, Auth, envelope, level, product, receive, sale


def deliver(consumer: EventConsumer, event_envelope) -> None:
    """One delivery as the bus makes it (retries, dead-lettering and all)."""
    asyncio.run(consumer(event_envelope))


def letters(client: TestClient, auth: Auth, status: str = "pending") -> dict:
    response = client.get("/api/inventory/dead-letters", params={"status": status}, headers=auth("admin", []))
    assert response.status_code == 200, response.text
    return response.json()


def pending_metric(client: TestClient) -> float:
    text = client.get("/metrics").text
    found = re.search(r'^pos_dead_letters_pending\{service="inventory"\} (\S+)$', text, re.MULTILINE)
    assert found, "no pos_dead_letters_pending metric"
    return float(found.group(1))


def test_an_event_of_unknown_type_is_dead_lettered_with_its_reason_and_only_admins_see_it(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    odd = envelope(sale([("p1", 1)]), A).model_copy(update={"type": "SaleTeleported"})
    deliver(consumer, odd)
    page = letters(client, auth)
    assert page["total"] == page["pending"] == 1
    [item] = page["items"]
    assert (item["event_id"], item["event_type"], item["status"], item["attempts"]) == (
        odd.event_id,
        "SaleTeleported",
        "pending",
        1,
    )
    assert item["reason"] == "inventory has no handler for events of type 'SaleTeleported' (v1)"
    assert '"SaleTeleported"' in item["body"]
    assert pending_metric(client) == 1
    for role in ("manager", "cashier"):
        assert client.get("/api/inventory/dead-letters", headers=auth(role)).status_code == 403


def test_a_dead_letter_replayed_after_the_fix_is_applied_once(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 10)
    event = envelope(sale([("p1", 2)]), A)
    real = consumer.handlers["SaleCompleted"]

    def broken(uow, payload, env) -> None:  # a bug in the handler (AttributeError, say)
        raise AttributeError("'NoneType' object has no attribute 'qty'")

    consumer.handlers["SaleCompleted"] = broken
    deliver(consumer, event)
    [item] = letters(client, auth)["items"]
    assert item["attempts"] == consumer.unexpected_attempts
    assert "failed on every attempt: AttributeError" in item["reason"]
    assert level(client, auth, "p1")["on_hand"] == 10

    consumer.handlers["SaleCompleted"] = real  # the fix is deployed
    response = client.post(f"/api/inventory/dead-letters/{item['id']}/replay", headers=auth("admin", []))
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["resolved_by"]) == ("replayed", "user-1")
    assert level(client, auth, "p1")["on_hand"] == 8
    # The broker delivers the original again later: the inbox knows it, stock stays put.
    deliver(consumer, event)
    assert level(client, auth, "p1")["on_hand"] == 8
    again = client.post(f"/api/inventory/dead-letters/{item['id']}/replay", headers=auth("admin", []))
    assert again.status_code == 409 and "already replayed" in again.json()["detail"]
    assert letters(client, auth)["pending"] == 0
    assert [i["event_id"] for i in letters(client, auth, "replayed")["items"]] == [event.event_id]
    assert pending_metric(client) == 0


def test_a_replay_that_fails_again_stays_pending_with_the_new_reason(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    future = envelope(sale([("p1", 1)]), A).model_copy(update={"version": 7})
    deliver(consumer, future)
    [item] = letters(client, auth)["items"]
    response = client.post(f"/api/inventory/dead-letters/{item['id']}/replay", headers=auth("admin", []))
    assert response.status_code == 409
    assert "the replay failed again: SaleCompleted v7 cannot be read" in response.json()["detail"]
    [after] = letters(client, auth)["items"]
    assert (after["status"], after["attempts"]) == ("pending", 2)


def test_replay_all_and_discard(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 10)
    real = consumer.handlers["SaleCompleted"]
    consumer.handlers["SaleCompleted"] = lambda uow, payload, env: (_ for _ in ()).throw(RuntimeError("outage of a kind"))
    sales = [envelope(sale([("p1", 1)]), A) for _ in range(3)]
    for event in sales:
        deliver(consumer, event)
    forged = envelope(sale([("p1", 1)]), A).model_copy(update={"type": "Nonsense"})
    deliver(consumer, forged)
    assert letters(client, auth)["pending"] == 4
    consumer.handlers["SaleCompleted"] = real

    forged_id = next(i["id"] for i in letters(client, auth)["items"] if i["event_type"] == "Nonsense")
    missing_note = client.post(f"/api/inventory/dead-letters/{forged_id}/discard", json={}, headers=auth("admin", []))
    assert missing_note.status_code == 422
    discarded = client.post(
        f"/api/inventory/dead-letters/{forged_id}/discard", json={"note": "forged in a test"}, headers=auth("admin", [])
    )
    assert discarded.status_code == 200
    assert (discarded.json()["status"], discarded.json()["note"]) == ("discarded", "forged in a test")

    response = client.post("/api/inventory/dead-letters/replay", headers=auth("admin", []))
    assert response.status_code == 200, response.text
    assert (response.json()["replayed"], response.json()["still_failing"]) == (3, 0)
    assert level(client, auth, "p1")["on_hand"] == 7
    assert letters(client, auth)["pending"] == 0
    assert (
        client.post(
            f"/api/inventory/dead-letters/{uuid.uuid4().int % 10**9 + 10**6}/replay", headers=auth("admin", [])
        ).status_code
        == 404
    )


def test_a_body_that_is_no_envelope_can_only_be_discarded(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    asyncio.run(
        consumer.dead_letter(
            b"\x00not json", "not an event envelope: Invalid JSON", event_id="message-1", routing_key="sales.SaleCompleted"
        )
    )
    [item] = letters(client, auth)["items"]
    response = client.post(f"/api/inventory/dead-letters/{item['id']}/replay", headers=auth("admin", []))
    assert response.status_code == 422
    assert "not an event envelope, so it cannot be replayed: discard it" in response.json()["detail"]
