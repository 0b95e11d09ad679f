"""A reservation posted again under the same sale id (a till re-posting a sale after a
retryable 503: the first checkout had released its stock). A held reservation answers
as held; a released or expired one is reserved again, all lines or none, or refused
409: never reported as held without holding the stock (issue 12, finding 2)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pos_inventory.app import create_app
from pos_inventory.config import Settings
from pos_inventory.stock import expire_reservations_once
from pos_inventory.tables import reservations
from pos_platform.bus import InProcessBus
from pos_platform.consumer import EventConsumer
from tests.databases import scratch_mariadb

from .conftest import A, Auth, B, envelope, ledger, level, product, receive, sale


def post(client: TestClient, auth: Auth, sale_id: str, lines: list[tuple[str, int]], outlet_id: str = A) -> tuple[int, dict]:
    response = client.post(
        "/api/inventory/reservations",
        json={"sale_id": sale_id, "outlet_id": outlet_id, "lines": [{"product_id": p, "qty": q} for p, q in lines]},
        headers=auth("cashier", [A, B]),
    )
    return response.status_code, response.json()


def release(client: TestClient, auth: Auth, sale_id: str) -> None:
    assert client.delete(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier")).status_code == 204


def test_a_released_reservation_posted_again_after_another_sale_took_the_stock_is_refused(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    product(consumer, "p1", "Last cup")
    receive(client, auth, "p1", 1)
    x, y = str(uuid.uuid4()), str(uuid.uuid4())
    assert post(client, auth, x, [("p1", 1)])[0] == 201
    release(client, auth, x)  # X's checkout failed retryably and gave the unit back
    assert post(client, auth, y, [("p1", 1)])[0] == 201  # Y takes the last unit

    code, body = post(client, auth, x, [("p1", 1)])  # the till re-posts X
    assert code == 409, body
    assert body["short"] == [{"product_id": "p1", "name": "Last cup", "requested": 1, "available": 0}]
    assert "Last cup (wanted 1, 0 available)" in body["detail"]
    assert (level(client, auth, "p1")["reserved"], level(client, auth, "p1")["available"]) == (1, 0)
    assert client.get(f"/api/inventory/reservations/{x}", headers=auth("cashier")).json()["status"] == "released"

    # X's sale would now complete only if it were reserved: Y is deducted, stock never below 0
    consumer.handle(envelope(sale([("p1", 1)], sale_id=y), A))
    assert (level(client, auth, "p1")["on_hand"], level(client, auth, "p1")["reserved"]) == (0, 0)


def test_a_released_reservation_posted_again_is_held_again_all_lines_or_none(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    product(consumer, "p1")
    product(consumer, "p2")
    receive(client, auth, "p1", 2)
    receive(client, auth, "p2", 2)
    x = str(uuid.uuid4())
    assert post(client, auth, x, [("p1", 1), ("p2", 2)])[0] == 201
    release(client, auth, x)
    other = str(uuid.uuid4())
    assert post(client, auth, other, [("p2", 1)])[0] == 201
    code, body = post(client, auth, x, [("p1", 1), ("p2", 2)])
    assert code == 409 and [s["product_id"] for s in body["short"]] == ["p2"]
    assert level(client, auth, "p1")["reserved"] == 0  # p1 was not held on its own
    release(client, auth, other)

    code, body = post(client, auth, x, [("p1", 1), ("p2", 2)])
    assert (code, body) == (201, {"sale_id": x, "outlet_id": A, "status": "held"})
    assert [level(client, auth, p)["reserved"] for p in ("p1", "p2")] == [1, 2]
    got = client.get(f"/api/inventory/reservations/{x}", headers=auth("cashier")).json()
    assert (got["status"], got["lines"]) == ("held", [{"product_id": "p1", "qty": 1}, {"product_id": "p2", "qty": 2}])
    # a repeat of a held reservation is answered as held and takes nothing more
    assert post(client, auth, x, [("p1", 1), ("p2", 2)]) == (200, {"sale_id": x, "outlet_id": A, "status": "held"})
    assert [level(client, auth, p)["reserved"] for p in ("p1", "p2")] == [1, 2]
    # the sale completes: the renewed reservation becomes its deduction
    consumer.handle(envelope(sale([("p1", 1), ("p2", 2)], sale_id=x), A))
    assert [(level(client, auth, p)["on_hand"], level(client, auth, p)["reserved"]) for p in ("p1", "p2")] == [(1, 0), (0, 0)]
    assert sorted((r["product_id"], r["delta"], r["oversold"]) for r in ledger(client, auth, reference=x)) == [
        ("p1", -1, False),
        ("p2", -2, False),
    ]
    # once deducted, a repeat is not "held": the stock is gone with the sale
    assert post(client, auth, x, [("p1", 1), ("p2", 2)]) == (200, {"sale_id": x, "outlet_id": A, "status": "consumed"})
    assert [level(client, auth, p)["reserved"] for p in ("p1", "p2")] == [0, 0]


def test_an_expired_reservation_posted_again_is_held_again_with_a_new_expiry(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 3)
    x = str(uuid.uuid4())
    assert post(client, auth, x, [("p1", 3)])[0] == 201
    db = client.app.state.ctx.db
    with db.transaction() as uow:
        uow.session.execute(reservations.update().values(expires_at=reservations.c.created_at))
    with db.transaction() as uow:
        assert expire_reservations_once(uow) == 1
    assert level(client, auth, "p1")["reserved"] == 0
    assert post(client, auth, x, [("p1", 3)]) == (201, {"sale_id": x, "outlet_id": A, "status": "held"})
    assert level(client, auth, "p1")["reserved"] == 3
    with db.transaction() as uow:
        assert expire_reservations_once(uow) == 0  # the renewed hold has a fresh expiry


def test_racing_repeats_of_a_released_reservation_hold_the_stock_once(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 10)
    x = str(uuid.uuid4())
    assert post(client, auth, x, [("p1", 2)])[0] == 201
    release(client, auth, x)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: post(client, auth, x, [("p1", 2)]), range(6)))
    assert sorted(code for code, _ in answers) == [200] * 5 + [201], answers
    assert {body["status"] for _, body in answers} == {"held"}
    assert (level(client, auth, "p1")["reserved"], level(client, auth, "p1")["available"]) == (2, 8)


def test_a_sale_id_reserved_at_another_outlet_is_refused(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 2)
    receive(client, auth, "p1", 2, outlet_id=B)
    x = str(uuid.uuid4())
    assert post(client, auth, x, [("p1", 1)])[0] == 201
    release(client, auth, x)
    code, body = post(client, auth, x, [("p1", 1)], outlet_id=B)
    assert code == 409 and "another outlet" in body["detail"]
    assert level(client, auth, "p1", B)["reserved"] == 0


def post_attempt(client: TestClient, auth: Auth, sale_id: str, attempt: str, lines: list[tuple[str, int]]) -> tuple[int, dict]:
    response = client.post(
        "/api/inventory/reservations",
        json={"sale_id": sale_id, "outlet_id": A, "attempt": attempt, "lines": [{"product_id": p, "qty": q} for p, q in lines]},
        headers=auth("cashier", [A]),
    )
    return response.status_code, response.json()


def release_attempt(client: TestClient, auth: Auth, sale_id: str, attempt: str, outlet_id: str | None = A) -> int:
    params = {"attempt": attempt} | ({"outlet_id": outlet_id} if outlet_id else {})
    return client.delete(f"/api/inventory/reservations/{sale_id}", params=params, headers=auth("cashier", [A])).status_code


def test_a_reservation_request_arriving_after_its_checkout_gave_up_takes_nothing(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    """Under overload the reservation request sat in a queue past sales' timeout: sales
    answered the till 503 and released the attempt before the request got in. The late
    request must not hold the stock for five minutes (the expiry) that nobody will buy."""
    product(consumer, "p1", "Last cup")
    receive(client, auth, "p1", 1)
    x, first, second = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())

    assert release_attempt(client, auth, x, first) == 204  # the release overtook the request
    code, body = post_attempt(client, auth, x, first, [("p1", 1)])  # the late request
    assert (code, body["status"]) == (200, "released"), body
    assert (level(client, auth, "p1")["reserved"], level(client, auth, "p1")["available"]) == (0, 1)

    # another sale can have the last cup meanwhile; the till's re-post of X (a new attempt) cannot
    other = str(uuid.uuid4())
    assert post(client, auth, other, [("p1", 1)])[0] == 201
    assert post_attempt(client, auth, x, second, [("p1", 1)])[0] == 409
    release(client, auth, other)
    # once the cup is back, the re-post holds it
    code, body = post_attempt(client, auth, x, second, [("p1", 1)])
    assert (code, body["status"]) == (201, "held")
    assert level(client, auth, "p1")["reserved"] == 1


def test_a_stale_release_leaves_the_re_posted_sale_s_hold_alone(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 2)
    x, first, second = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    assert post_attempt(client, auth, x, first, [("p1", 1)])[0] == 201
    assert release_attempt(client, auth, x, first) == 204
    assert post_attempt(client, auth, x, second, [("p1", 1)])[0] == 201  # the till re-posted
    assert release_attempt(client, auth, x, first) == 204  # the first attempt's release, again (a retry)
    assert level(client, auth, "p1")["reserved"] == 1
    assert client.get(f"/api/inventory/reservations/{x}", headers=auth("cashier")).json()["status"] == "held"
    # a release without an attempt (the reconciler's) still gives everything back
    release(client, auth, x)
    assert level(client, auth, "p1")["reserved"] == 0


def test_a_release_without_an_outlet_that_finds_nothing_is_404_and_leaves_no_mark(client: TestClient, auth: Auth) -> None:
    x = str(uuid.uuid4())
    assert release_attempt(client, auth, x, str(uuid.uuid4()), outlet_id=None) == 404
    assert client.get(f"/api/inventory/reservations/{x}", headers=auth("cashier")).status_code == 404


def race_requests_and_releases(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 50)
    for _ in range(25):
        x, attempt = str(uuid.uuid4()), str(uuid.uuid4())
        with ThreadPoolExecutor(2) as pool:
            reserving = pool.submit(post_attempt, client, auth, x, attempt, [("p1", 1)])
            releasing = pool.submit(release_attempt, client, auth, x, attempt)
            assert releasing.result() == 204
            assert reserving.result()[0] in (200, 201)
    assert level(client, auth, "p1")["reserved"] == 0


def test_a_release_racing_its_own_request_leaves_nothing_held(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    """The request and the release of one attempt at once, many times: whichever commits
    first, the stock ends unreserved."""
    race_requests_and_releases(client, auth, consumer)


@pytest.mark.integration
def test_a_release_racing_its_own_request_leaves_nothing_held_on_mariadb(keys: tuple[Path, Path], auth: Auth) -> None:
    """The same race where row locks and duplicate keys are real (two connections)."""
    with scratch_mariadb("pos_it_inventory_attempts") as (url,):
        app = create_app(Settings(database_url=url, jwt_public_key_file=str(keys[1])), bus=InProcessBus(), migrate_on_start=True)
        with TestClient(app) as client:
            race_requests_and_releases(client, auth, client.app.state.ctx.consumer)
