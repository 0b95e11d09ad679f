"""Sales' fulfilment flag from inventory's StockDeducted events, through the service's
own consumer. A sale naming a product inventory did not know yet (its lines parked on
inventory's exception list, issue 12 finding 4) is `exception` until the last parked
line is deducted, whatever order the sale's StockDeducted events arrive in."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_contracts import new_envelope
from pos_contracts.events import ParkedLine, StockDeducted, StockLine
from services.sales.tests.conftest import OUTLET


def deducted(sale_id: str, lines: list[tuple[str, int, bool]], parked: list[str]) -> StockDeducted:
    return StockDeducted(
        sale_id=sale_id,
        outlet_id=OUTLET,
        lines=[StockLine(product_id=p, qty=1, on_hand_after=after, oversold=oversold) for p, after, oversold in lines],
        parked=[ParkedLine(product_id=p, qty=1) for p in parked],
    )


def deliver(client: TestClient, event: StockDeducted) -> None:
    assert client.app.state.ctx.consumer.handle(new_envelope(event, producer="inventory", outlet_id=OUTLET))


def state(client: TestClient, auth: Any, sale_id: str) -> tuple[str, bool]:
    sale = client.get(f"/api/sales/{sale_id}", headers=auth()).json()
    return sale["fulfilment"], sale["oversold"]


def completed(client: TestClient, auth: Any, helpers: Any) -> str:
    r = client.post("/api/sales", json=helpers.sale([("mug", 1), ("tea", 1)]), headers=auth())
    assert r.status_code == 201, r.text
    return r.json()["sale_id"]


def test_a_sale_with_parked_lines_is_an_exception_until_they_are_deducted(client: TestClient, auth: Any, helpers: Any) -> None:
    sale_id = completed(client, auth, helpers)
    deliver(client, deducted(sale_id, [("mug", -1, True)], parked=["tea"]))
    assert state(client, auth, sale_id) == ("exception", True)
    deliver(client, deducted(sale_id, [("tea", 4, False)], parked=[]))
    assert state(client, auth, sale_id) == ("fulfilled", True)  # oversold stays: one line went below zero


def test_a_sale_whose_lines_were_all_parked_is_an_exception(client: TestClient, auth: Any, helpers: Any) -> None:
    sale_id = completed(client, auth, helpers)
    deliver(client, deducted(sale_id, [], parked=["mug", "tea"]))
    assert state(client, auth, sale_id) == ("exception", False)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_sale_is_fulfilled_once_every_line_is_whatever_the_order(
    client: TestClient, auth: Any, helpers: Any, order: tuple[int, ...]
) -> None:
    sale_id = completed(client, auth, helpers)
    # as inventory publishes them: the sale (both lines parked), then each product arriving
    events = [
        deducted(sale_id, [], parked=["mug", "tea"]),
        deducted(sale_id, [("mug", 3, False)], parked=["tea"]),
        deducted(sale_id, [("tea", 2, False)], parked=[]),
    ]
    for i in order:
        deliver(client, events[i])
    assert state(client, auth, sale_id) == ("fulfilled", False)


def test_a_plain_deduction_fulfils_the_sale(client: TestClient, auth: Any, helpers: Any) -> None:
    sale_id = completed(client, auth, helpers)
    assert state(client, auth, sale_id) == ("pending", False)
    deliver(client, deducted(sale_id, [("mug", 9, False), ("tea", 9, False)], parked=[]))
    assert state(client, auth, sale_id) == ("fulfilled", False)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_batch_of_deductions_gives_what_they_give_one_by_one(
    client: TestClient, auth: Any, helpers: Any, order: tuple[int, ...]
) -> None:
    """The consumer's batch path (plain sales fulfilled with one statement, the others
    one by one) in every order of a parked sale's events, with a plain sale and an
    oversold one in the same batch."""
    parked, plain, oversold = (completed(client, auth, helpers) for _ in range(3))
    events = [
        deducted(parked, [], parked=["mug", "tea"]),
        deducted(parked, [("mug", 3, False)], parked=["tea"]),
        deducted(parked, [("tea", 2, True)], parked=[]),
    ]
    batch = [events[i] for i in order] + [deducted(plain, [("mug", 8, False)], []), deducted(oversold, [("tea", -1, True)], [])]
    envelopes = [new_envelope(e, producer="inventory", outlet_id=OUTLET) for e in batch]
    asyncio.run(client.app.state.ctx.consumer.deliver_batch(envelopes))
    assert state(client, auth, parked) == ("fulfilled", True)
    assert state(client, auth, plain) == ("fulfilled", False)
    assert state(client, auth, oversold) == ("fulfilled", True)
