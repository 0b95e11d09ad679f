"""An outlet sells in its own currency, identity's (OutletCreated/OutletChanged), and in
no other: its settings refuse another, a cart with a line priced in another currency is
refused naming the products and the fix, and its own shelf price (catalog's
OutletPriceChanged, in the outlet's currency) is what makes a product sellable there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pos_contracts import new_envelope
from pos_contracts.envelope import Envelope
from pos_contracts.events import OutletChanged, OutletCreated, OutletPriceChanged
from pos_sales.domain import CartLine, CatalogPrice, CheckoutError, require_outlet_currency
from pos_sales.tables import sales

from .conftest import OTHER, OUTLET

FIX = "set a shelf price in CHF for this outlet (Back office → Products → outlet price)"


def announce(client: TestClient, currency: str = "CHF", changed: bool = False) -> None:
    kind = OutletChanged if changed else OutletCreated
    event = kind(outlet_id=OUTLET, name="Zürich", currency=currency, timezone="UTC")
    assert client.app.state.ctx.consumer.handle(new_envelope(event, producer="identity"))


def shelf_price(client: TestClient, price_minor: int | None, currency: str, product_id: str = "mug") -> None:
    event = OutletPriceChanged(product_id=product_id, outlet_id=OUTLET, price_minor=price_minor, currency=currency)
    envelope = Envelope(
        event_id=f"price-{product_id}-{price_minor}-{currency}",
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=datetime.now(UTC),
        producer="catalog",
        payload=event.model_dump(mode="json"),
    )
    assert client.app.state.ctx.consumer.handle(envelope)


def stored_sales(client: TestClient) -> int:
    with client.app.state.ctx.db.transaction() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(sales)) or 0)


def quote(client: TestClient, auth: Any, lines: list[tuple[str, int]]) -> Any:
    body = {"outlet_id": OUTLET, "lines": [{"product_id": p, "qty": q} for p, q in lines]}
    return client.post("/api/sales/quote", json=body, headers=auth())


def test_the_outlets_currency_is_identitys_and_the_settings_refuse_another(client: TestClient, auth: Any) -> None:
    before = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert before["currency"] == "EUR"  # identity has said nothing: the service's default
    announce(client, "CHF")
    settings = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert settings["currency"] == "CHF"
    # Another outlet is untouched.
    assert client.get(f"/api/sales/outlets/{OTHER}/settings", headers=auth("admin", [])).json()["currency"] == "EUR"
    refused = client.put(f"/api/sales/outlets/{OUTLET}/settings", json={**settings, "currency": "EUR"}, headers=auth("manager"))
    assert refused.status_code == 422
    assert "the outlet's currency is CHF, set when the outlet was created in identity" in refused.json()["detail"]
    same = client.put(
        f"/api/sales/outlets/{OUTLET}/settings", json={**settings, "discount_approval_bp": 1500}, headers=auth("manager")
    )
    assert same.status_code == 200, same.text
    assert same.json()["currency"] == "CHF"
    # An OutletChanged (a new name or zone) keeps the currency it carries.
    announce(client, "CHF", changed=True)
    assert client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()["currency"] == "CHF"


def test_settings_saved_in_another_currency_before_identity_said_follow_identity(client: TestClient, auth: Any) -> None:
    settings = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    saved = client.put(
        f"/api/sales/outlets/{OUTLET}/settings",
        json={**settings, "accepted_currencies": ["CHF", "USD"]},
        headers=auth("manager"),
    )
    assert saved.status_code == 200, saved.text
    announce(client, "CHF")
    after = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert after["currency"] == "CHF" and after["accepted_currencies"] == ["USD"]


def test_a_cart_priced_in_another_currency_is_refused_naming_the_products(client: TestClient, auth: Any, helpers: Any) -> None:
    announce(client, "CHF")
    answer = quote(client, auth, [("mug", 1), ("tea", 2)])
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "the outlet sells in CHF and these products have no price in CHF" in detail
    assert "MUG (Espresso cup <small>, priced in EUR)" in detail and "TEA (Green tea 100 g, priced in EUR)" in detail
    assert FIX in detail
    sold = client.post("/api/sales", json=helpers.sale([("mug", 1)]), headers=auth())
    assert sold.status_code == 422
    assert "MUG (Espresso cup <small>, priced in EUR)" in sold.json()["detail"] and FIX in sold.json()["detail"]
    assert stored_sales(client) == 0


def test_a_shelf_price_in_the_outlets_currency_sells_in_it(client: TestClient, auth: Any, helpers: Any) -> None:
    announce(client, "CHF")
    shelf_price(client, 1390, "CHF")
    assert client.get("/api/sales/prices/mug", params={"outlet_id": OUTLET}, headers=auth()).json() == {
        **client.get("/api/sales/prices/mug", headers=auth()).json(),
        "price_minor": 1390,
        "currency": "CHF",
    }
    priced = quote(client, auth, [("mug", 2)])
    assert priced.status_code == 200, priced.text
    assert (priced.json()["currency"], priced.json()["total_minor"]) == ("CHF", 2780)
    sold = client.post(
        "/api/sales", json=helpers.sale([("mug", 2)], tenders=[{"kind": "cash", "amount_minor": 3000}]), headers=auth()
    )
    assert sold.status_code == 201, sold.text
    receipt = sold.json()
    assert (receipt["currency"], receipt["total_minor"], receipt["lines"][0]["unit_price_minor"]) == ("CHF", 2780, 1390)
    assert receipt["change_minor"] == 3000 - receipt["due_minor"]
    [event] = helpers.outbox(client, "SaleCompleted")
    assert (event["payload"]["sale_id"], event["payload"]["currency"]) == (receipt["sale_id"], "CHF")
    # Tea has no franc price yet: still refused, naming only it.
    mixed = quote(client, auth, [("mug", 1), ("tea", 1)])
    assert mixed.status_code == 422
    assert "this product has no price in CHF: TEA (Green tea 100 g, priced in EUR)" in mixed.json()["detail"]
    assert "MUG" not in mixed.json()["detail"]
    # The shelf price removed (back to the product's, in euros): refused again.
    shelf_price(client, None, "CHF")
    assert quote(client, auth, [("mug", 1)]).status_code == 422


def test_an_outlet_in_the_products_currency_sells_as_before(client: TestClient, auth: Any, helpers: Any) -> None:
    announce(client, "EUR")
    sold = client.post("/api/sales", json=helpers.sale([("mug", 2)]), headers=auth())
    assert sold.status_code == 201, sold.text
    assert sold.json()["currency"] == "EUR"


def test_require_outlet_currency_names_each_product_once() -> None:
    eur = CatalogPrice("p1", "P-1", "Lamp", None, 100, "EUR", "standard")
    chf = CatalogPrice("p2", "P-2", "Vase", None, 200, "CHF", "standard")
    prices = {"p1": eur, "p2": chf}
    require_outlet_currency([CartLine("p2", 1)], prices, "CHF")
    with pytest.raises(CheckoutError) as refused:
        require_outlet_currency([CartLine("p1", 1), CartLine("p2", 1), CartLine("p1", 2)], prices, "CHF")
    assert str(refused.value).count("P-1 (Lamp, priced in EUR)") == 1 and "P-2" not in str(refused.value)
