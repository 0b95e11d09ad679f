"""The cost of a product when it was sold: sales' replica keeps catalog's cost_minor, each
sale line records it, and SaleCompleted carries it (SaleLine.unit_cost_minor) so the
reports cost the sale even before they have heard of the product (docs/reports.md). The
cost never reaches a till: no receipt, quote, sale, reprint or price answer has it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pos_contracts import new_envelope
from pos_contracts.events import ProductChanged
from pos_sales.tables import price_replica, sale_lines
from services.sales.tests.conftest import OUTLET
from services.sales.tests.test_offline_sync import offline_sale, sync

# The seeded products (conftest.seed_prices) as catalog would announce them.
SEEDED = {
    "mug": {"sku": "MUG", "name": "Espresso cup <small>", "category_id": "cups", "price_minor": 1250, "tax_class": "standard"},
    "tea": {"sku": "TEA", "name": "Green tea 100 g", "category_id": "tea", "price_minor": 399, "tax_class": "reduced"},
}


def announce(client: TestClient, product_id: str, cost_minor: int, at: datetime) -> None:
    """catalog's ProductChanged for a seeded product (same price), through the consumer."""
    event = ProductChanged(product_id=product_id, cost_minor=cost_minor, currency="EUR", **SEEDED[product_id])
    envelope = new_envelope(event, producer="catalog").model_copy(update={"occurred_at": at})
    assert client.app.state.ctx.consumer.handle(envelope)


def replica_cost(client: TestClient, product_id: str) -> int | None:
    with client.app.state.ctx.db.transaction() as uow:
        return uow.session.scalar(select(price_replica.c.cost_minor).where(price_replica.c.product_id == product_id))


def stored_costs(client: TestClient, sale_id: str) -> list[int | None]:
    with client.app.state.ctx.db.transaction() as uow:
        return list(
            uow.session.scalars(
                select(sale_lines.c.unit_cost_minor).where(sale_lines.c.sale_id == sale_id).order_by(sale_lines.c.line_no)
            )
        )


def event_costs(event: dict[str, Any]) -> list[int | None]:
    return [line.get("unit_cost_minor") for line in event["payload"]["lines"]]


def mentions_cost(document: Any) -> bool:
    """Whether any key of a JSON answer (at any depth) names a cost."""
    if isinstance(document, dict):
        return any("cost" in str(key) or mentions_cost(value) for key, value in document.items())
    if isinstance(document, list):
        return any(mentions_cost(item) for item in document)
    return False


def later(minutes: int = 1) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_the_replica_keeps_the_cost_and_the_sale_completed_carries_it_per_line(
    client: TestClient, auth: Any, helpers: Any
) -> None:
    assert replica_cost(client, "mug") is None  # a row kept before the cost was: not known
    announce(client, "mug", 480, later(1))
    announce(client, "tea", 150, later(1))
    announce(client, "mug", 999, later(-60))  # an older announcement arriving late: ignored
    assert (replica_cost(client, "mug"), replica_cost(client, "tea")) == (480, 150)

    receipt = client.post("/api/sales", json=helpers.sale([("mug", 2), ("tea", 1)]), headers=auth()).json()
    [event] = helpers.outbox(client, "SaleCompleted")
    assert event_costs(event) == [480, 150]
    assert stored_costs(client, receipt["sale_id"]) == [480, 150]

    # The cost changes after the sale: the sale keeps the cost it was sold at, in the
    # events regenerated for a rebuild too.
    announce(client, "mug", 700, later(2))
    history = client.get("/api/sales/history", headers=auth("admin")).json()["events"]
    [regenerated] = [e for e in history if e["type"] == "SaleCompleted"]
    assert event_costs(regenerated) == [480, 150] and regenerated["payload"] == event["payload"]
    second = client.post("/api/sales", json=helpers.sale([("mug", 1)]), headers=auth()).json()
    assert event_costs(helpers.outbox(client, "SaleCompleted")[-1]) == [700]
    assert stored_costs(client, second["sale_id"]) == [700]


def test_a_product_whose_cost_sales_does_not_know_goes_out_without_one(client: TestClient, auth: Any, helpers: Any) -> None:
    announce(client, "tea", 150, later())
    client.post("/api/sales", json=helpers.sale([("mug", 1), ("tea", 1)]), headers=auth())
    [event] = helpers.outbox(client, "SaleCompleted")
    # mug's replica row is from before the cost was kept: no cost, the reports use theirs
    assert event_costs(event) == [None, 150]


def test_no_answer_a_till_or_the_back_office_sees_carries_the_cost(client: TestClient, auth: Any, helpers: Any) -> None:
    announce(client, "mug", 480, later())
    cart = {"outlet_id": OUTLET, "lines": [{"product_id": "mug", "qty": 2}]}
    quote = client.post("/api/sales/quote", json=cart, headers=auth())
    sold = client.post("/api/sales", json=helpers.sale([("mug", 2)]), headers=auth())
    assert (quote.status_code, sold.status_code) == (200, 201)
    sale_id = sold.json()["sale_id"]
    answers = {
        "quote": quote.json(),
        "sale": sold.json(),
        "replayed sale": client.post("/api/sales", json=helpers.sale([("mug", 2)]) | {"id": sale_id}, headers=auth()).json(),
        "stored sale": client.get(f"/api/sales/{sale_id}", headers=auth()).json(),
        "receipt": client.get(f"/api/sales/{sale_id}/receipt", headers=auth()).json(),
        "reprint": client.post(f"/api/sales/{sale_id}/reprint", headers=auth()).json(),
        "sales list": client.get("/api/sales", params={"outlet_id": OUTLET}, headers=auth("manager")).json(),
        "price": client.get("/api/sales/prices/mug", params={"outlet_id": OUTLET}, headers=auth()).json(),
    }
    assert answers["sale"]["lines"][0]["unit_price_minor"] == 1250  # the answers are the real ones
    assert {name: mentions_cost(body) for name, body in answers.items()} == dict.fromkeys(answers, False)
    assert "480" not in client.get(f"/api/sales/{sale_id}/receipt", params={"format": "text"}, headers=auth()).text
    [event] = helpers.outbox(client, "SaleCompleted")
    assert event_costs(event) == [480]  # while the event has it


def test_an_offline_sale_carries_the_cost_sales_knows_when_it_is_synced(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    announce(client, "mug", 480, later())
    announce(client, "tea", 150, later())
    body = offline_sale([("mug", 1), ("tea", 2)])
    answer = sync(client, auth, body)
    assert answer.status_code == 201, answer.text
    assert not mentions_cost(answer.json())
    assert event_costs(helpers.outbox(client, "SaleCompleted")[0]) == [480, 150]

    # Payments down at the sync: the reconciler completes it later, with the same costs.
    pending = offline_sale([("tea", 1)], number=2)
    fakes.mode = "down"
    assert sync(client, auth, pending).status_code == 503
    fakes.mode = "capture"
    settled = asyncio.run(client.app.state.checkout.reconcile(pending["id"]))
    assert settled is not None and settled.status == 201 and not mentions_cost(settled.body)
    assert event_costs(helpers.outbox(client, "SaleCompleted")[-1]) == [150]
