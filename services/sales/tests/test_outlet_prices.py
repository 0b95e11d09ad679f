"""An outlet's own shelf price (catalog's OutletPriceChanged) is what sales charges there,
and only there; newest event wins; None goes back to the product's price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from pos_contracts.envelope import Envelope
from pos_contracts.events import OutletPriceChanged

OUTLET = "outlet-a"  # as in conftest.py: the cashier's outlet
OTHER = "outlet-b"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def deliver(client: TestClient, outlet_id: str, price_minor: int | None, at: datetime, product_id: str = "mug") -> None:
    """Through the service's own consumer (inbox, parsing, handler), as from the bus."""
    event = OutletPriceChanged(product_id=product_id, outlet_id=outlet_id, price_minor=price_minor, currency="EUR")
    envelope = Envelope(
        event_id=f"price-{outlet_id}-{at.isoformat()}",
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=at,
        producer="catalog",
        payload=event.model_dump(mode="json"),
    )
    assert client.app.state.ctx.consumer.handle(envelope)


def charged(client: TestClient, auth: Any, helpers: Any, outlets: list[str] | None = None, outlet_id: str = OUTLET) -> int:
    body = helpers.sale([("mug", 2)], outlet_id=outlet_id)
    answer = client.post("/api/sales", json=body, headers=auth("cashier", outlets))
    assert answer.status_code == 201, answer.text
    return answer.json()["lines"][0]["unit_price_minor"]


def test_the_outlets_own_price_is_charged_there_and_only_there(client: TestClient, auth: Any, helpers: Any) -> None:
    assert charged(client, auth, helpers) == 1250  # the product's price
    deliver(client, OUTLET, 990, T0)
    assert charged(client, auth, helpers) == 990
    quote = client.post(
        "/api/sales/quote", json={"outlet_id": OUTLET, "lines": [{"product_id": "mug", "qty": 1}]}, headers=auth()
    )
    assert quote.status_code == 200, quote.text
    assert quote.json()["total_minor"] == 990
    assert client.get("/api/sales/prices/mug", params={"outlet_id": OUTLET}, headers=auth()).json()["price_minor"] == 990
    assert client.get("/api/sales/prices/mug", headers=auth()).json()["price_minor"] == 1250
    # Another outlet keeps the product's price.
    assert charged(client, auth, helpers, outlets=[OTHER], outlet_id=OTHER) == 1250


def test_newest_event_wins_and_none_goes_back_to_the_products_price(client: TestClient, auth: Any, helpers: Any) -> None:
    deliver(client, OUTLET, 990, T0)
    deliver(client, OUTLET, 1100, T0 - timedelta(minutes=5))  # older, arrives late: ignored
    assert charged(client, auth, helpers) == 990
    deliver(client, OUTLET, None, T0 + timedelta(minutes=5))  # back to the product's price
    assert charged(client, auth, helpers) == 1250
    deliver(client, OUTLET, 990, T0 + timedelta(minutes=1))  # older than the reset: ignored
    assert charged(client, auth, helpers) == 1250


def test_another_outlets_shelf_price_is_not_shown(client: TestClient, auth: Any) -> None:
    """A cashier of outlet A asking for outlet B's price got B's shelf price (200); it
    is B's business, as catalog already answered: 404, and A's own price still shows."""
    assert client.get("/api/sales/prices/mug", params={"outlet_id": OTHER}, headers=auth()).status_code == 404
    assert client.get("/api/sales/prices/mug", params={"outlet_id": OUTLET}, headers=auth()).status_code == 200
    assert client.get("/api/sales/prices/mug", params={"outlet_id": OTHER}, headers=auth("admin", [])).status_code == 200
