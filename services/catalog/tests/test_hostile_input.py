"""Hostile input refused before anything is written (issue 14): control characters in
text (a NUL byte in a product name was stored and printed), numbers sent as strings or
booleans (a quantity "2" was read as 2), and a parent category id that names nothing
(an empty one answered 500). Every request body of every service shares the rules
(pos_platform.schemas.RequestModel); catalog stands for them here, sales' quantities
below."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from pos_sales.schemas import SaleLineIn

from .test_catalog_api import Auth, auth, client  # noqa: F401 (fixtures)


@pytest.mark.parametrize("name", ["bad\x00name", "bell\x07", "esc\x1b[31m", "del\x7f"])
def test_control_characters_in_text_are_refused(client: TestClient, auth: Auth, name: str) -> None:  # noqa: F811
    response = client.post("/api/catalog/products", json={"sku": "CTRL-1", "name": name, "price_minor": 100}, headers=auth())
    assert response.status_code == 422, response.text
    assert "control character" in response.text
    assert client.get("/api/catalog/products", headers=auth()).json()["total"] == 0


def test_tabs_and_line_breaks_stay_allowed(client: TestClient, auth: Auth) -> None:  # noqa: F811
    response = client.post(
        "/api/catalog/products",
        json={"sku": "TEXT-1", "name": "Tea", "description": "line one\nline two\r\n\tindented", "price_minor": 100},
        headers=auth(),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("price", ["100", True, 1.5])
def test_a_number_must_be_a_json_number(client: TestClient, auth: Auth, price: object) -> None:  # noqa: F811
    response = client.post("/api/catalog/products", json={"sku": "NUM-1", "name": "Tea", "price_minor": price}, headers=auth())
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("qty", ["2", True, 2.0])
def test_a_sale_quantity_sent_as_a_string_or_boolean_is_refused(qty: object) -> None:
    with pytest.raises(ValidationError):
        SaleLineIn.model_validate({"product_id": "p1", "qty": qty})
    assert SaleLineIn.model_validate({"product_id": "p1", "qty": 2}).qty == 2


@pytest.mark.parametrize("parent_id", ["", "no-such-category"])
def test_a_category_under_a_parent_that_does_not_exist_is_refused(client: TestClient, auth: Auth, parent_id: str) -> None:  # noqa: F811
    response = client.post("/api/catalog/categories", json={"name": "Orphan", "parent_id": parent_id}, headers=auth())
    assert response.status_code == 422, response.text


def test_an_outlet_id_longer_than_any_outlet_is_a_422(client: TestClient, auth: Auth) -> None:  # noqa: F811
    """A 40-character outlet id answered 500 ("Data too long") on MariaDB."""
    made = client.post("/api/catalog/products", json={"sku": "OP-1", "name": "Tea", "price_minor": 100}, headers=auth())
    assert made.status_code == 201, made.text
    response = client.put(
        f"/api/catalog/products/{made.json()['id']}/prices/{'x' * 40}", json={"price_minor": 90}, headers=auth("admin", [])
    )
    assert response.status_code == 422, response.text


def test_a_shelf_price_for_an_outlet_that_does_not_exist_is_refused(client: TestClient, auth: Auth) -> None:  # noqa: F811
    """An admin (whose token names no outlets) set prices, and published
    OutletPriceChanged, for any outlet id; now the outlet must be one identity announced
    (catalog keeps a replica from OutletCreated)."""
    from pos_contracts import new_envelope
    from pos_contracts.events import OutletCreated

    made = client.post("/api/catalog/products", json={"sku": "OP-2", "name": "Tea", "price_minor": 100}, headers=auth())
    path = f"/api/catalog/products/{made.json()['id']}/prices/new-outlet"
    refused = client.put(path, json={"price_minor": 90}, headers=auth("admin", []))
    assert refused.status_code == 404 and "outlet new-outlet not found" in refused.text
    client.app.state.ctx.consumer.handle(
        new_envelope(OutletCreated(outlet_id="new-outlet", name="New", currency="EUR"), producer="identity")
    )
    assert client.put(path, json={"price_minor": 90}, headers=auth("admin", [])).status_code == 200
