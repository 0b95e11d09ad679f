"""An outlet's shelf price is in the outlet's currency (identity's, from OutletCreated;
ADR 0075): stored and announced with it, a price in another currency refused, and the
tills' feed and the product card giving it with that currency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_catalog.app import create_app
from pos_catalog.config import Settings
from pos_contracts import new_envelope
from pos_contracts.events import OutletCreated
from pos_platform.bus import InProcessBus
from pos_platform.testing import AuthHeaders, auth_headers, outbox_events

ZURICH, BERLIN = "outlet-zurich", "outlet-berlin"


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/catalog.db", jwt_public_key_file=str(keys[1]))
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as c:
        for outlet_id, currency in ((ZURICH, "CHF"), (BERLIN, "EUR")):
            event = OutletCreated(outlet_id=outlet_id, name=outlet_id, currency=currency)
            assert c.app.state.ctx.consumer.handle(new_envelope(event, producer="identity"))
        yield c


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> AuthHeaders:
    return auth_headers(keys[0], role="manager", outlets=[ZURICH, BERLIN])


def lamp(client: TestClient, auth: AuthHeaders) -> dict[str, Any]:
    made = client.post("/api/catalog/products", json={"sku": "LAMP", "name": "Lamp", "price_minor": 4990}, headers=auth())
    assert made.status_code == 201, made.text
    assert made.json()["currency"] == "EUR"
    return made.json()


def test_a_shelf_price_is_in_the_outlets_currency(client: TestClient, auth: AuthHeaders) -> None:
    product = lamp(client, auth)
    url = f"/api/catalog/products/{product['id']}/prices/{ZURICH}"
    put = client.put(url, json={"price_minor": 5290}, headers=auth())  # no currency named: the outlet's
    assert put.status_code == 200, put.text
    assert put.json() == {"product_id": product["id"], "outlet_id": ZURICH, "price_minor": 5290, "currency": "CHF"}
    assert outbox_events(client, "OutletPriceChanged")[-1]["payload"] == {
        "product_id": product["id"],
        "outlet_id": ZURICH,
        "price_minor": 5290,
        "currency": "CHF",
    }
    named = client.put(url, json={"price_minor": 5300, "currency": "CHF"}, headers=auth())
    assert named.status_code == 200 and named.json()["currency"] == "CHF"
    wrong = client.put(url, json={"price_minor": 1, "currency": "EUR"}, headers=auth())
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == "currency: the outlet sells in CHF, so its shelf price is in CHF, not EUR"
    assert len(outbox_events(client, "OutletPriceChanged")) == 2  # the refusal announced nothing
    # Berlin sells in the product's currency.
    berlin = client.put(f"/api/catalog/products/{product['id']}/prices/{BERLIN}", json={"price_minor": 4490}, headers=auth())
    assert berlin.json()["currency"] == "EUR"
    listed = client.get(f"/api/catalog/products/{product['id']}/prices", headers=auth()).json()
    assert sorted((p["outlet_id"], p["price_minor"], p["currency"]) for p in listed) == [
        (BERLIN, 4490, "EUR"),
        (ZURICH, 5300, "CHF"),
    ]
    card = client.get(f"/api/catalog/products/{product['id']}", params={"outlet_id": ZURICH}, headers=auth()).json()
    assert (card["price_minor"], card["currency"], card["outlet_price_minor"], card["outlet_price_currency"]) == (
        4990,
        "EUR",
        5300,
        "CHF",
    )
    hit = client.get("/api/catalog/search", params={"q": "lamp", "outlet_id": ZURICH}, headers=auth()).json()["items"][0]
    assert (hit["outlet_price_minor"], hit["outlet_price_currency"]) == (5300, "CHF")


def test_the_tills_feed_gives_the_outlets_price_in_its_currency(client: TestClient, auth: AuthHeaders) -> None:
    product = lamp(client, auth)
    cashier = auth("cashier", [ZURICH])
    before = client.get("/api/catalog/changes", params={"outlet_id": ZURICH}, headers=cashier).json()
    [row] = [p for p in before["products"] if p["id"] == product["id"]]
    assert (row["price_minor"], row["currency"], row["outlet_price"]) == (4990, "EUR", False)
    url = f"/api/catalog/products/{product['id']}/prices/{ZURICH}"
    assert client.put(url, json={"price_minor": 5290}, headers=auth()).status_code == 200
    after = client.get(
        "/api/catalog/changes", params={"outlet_id": ZURICH, "cursor": before["next_cursor"]}, headers=cashier
    ).json()
    [row] = [p for p in after["products"] if p["id"] == product["id"]]
    assert (row["price_minor"], row["currency"], row["outlet_price"]) == (5290, "CHF", True)
    # Removed: the product's price in its currency again.
    assert client.delete(url, headers=auth()).status_code == 204
    assert outbox_events(client, "OutletPriceChanged")[-1]["payload"]["currency"] == "EUR"
    again = client.get(
        "/api/catalog/changes", params={"outlet_id": ZURICH, "cursor": after["next_cursor"]}, headers=cashier
    ).json()
    [row] = [p for p in again["products"] if p["id"] == product["id"]]
    assert (row["price_minor"], row["currency"], row["outlet_price"]) == (4990, "EUR", False)
