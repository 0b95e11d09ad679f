"""Catalog through its API on SQLite: products, barcodes, search, categories, outlet
prices, and the events each change writes to the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_catalog.app import create_app
from pos_catalog.config import Settings
from pos_catalog.domain import expected_check_digit
from pos_platform.bus import InProcessBus
from pos_platform.testing import AuthHeaders, auth_headers, outbox_events

A, B = "outlet-a", "outlet-b"
Auth = AuthHeaders


def ean13(body12: str) -> str:
    return body12 + str(expected_check_digit(body12))


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/catalog.db", jwt_public_key_file=str(keys[1]))
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="manager", outlets=[A])


def events(client: TestClient, type_: str | None = None) -> list[dict[str, Any]]:
    return outbox_events(client, type_)


def create(client: TestClient, auth: Auth, sku: str, name: str, price: int = 100, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/catalog/products", json={"sku": sku, "name": name, "price_minor": price, **extra}, headers=auth()
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_wrong_check_digit_is_refused_naming_the_digit(client: TestClient, auth: Auth) -> None:
    good = ean13("400638133393")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = client.post(
        "/api/catalog/products", json={"sku": "X1", "name": "X", "price_minor": 1, "barcodes": [bad]}, headers=auth()
    )
    assert response.status_code == 422
    assert f"check digit (digit 13) is {bad[-1]}, expected {good[-1]}" in response.text
    upc_bad = "036000291453"  # valid UPC-A is ...452
    response = client.post(
        "/api/catalog/products", json={"sku": "X2", "name": "X", "price_minor": 1, "barcodes": [upc_bad]}, headers=auth()
    )
    assert response.status_code == 422 and "UPC-A" in response.text and "expected 2" in response.text
    assert (
        client.post(
            "/api/catalog/products", json={"sku": "X3", "name": "X", "price_minor": 1, "barcodes": ["96385074"]}, headers=auth()
        ).status_code
        == 201
    )


def test_every_change_publishes_its_event(client: TestClient, auth: Auth) -> None:
    product = create(client, auth, "MUG-1", "Mug", 800, barcodes=[ean13("400638133393")], unit="each")
    assert events(client, "ProductCreated")[0]["payload"]["product_id"] == product["id"]
    changed = client.put(f"/api/catalog/products/{product['id']}", json={"price_minor": 900}, headers=auth())
    assert changed.json()["price_minor"] == 900
    assert events(client, "ProductChanged")[-1]["payload"]["price_minor"] == 900
    # no change, no event
    client.put(f"/api/catalog/products/{product['id']}", json={"price_minor": 900}, headers=auth())
    assert len(events(client, "ProductChanged")) == 1
    assert client.delete(f"/api/catalog/products/{product['id']}", headers=auth()).status_code == 204
    assert [e["payload"]["product_id"] for e in events(client, "ProductArchived")] == [product["id"]]
    restored = client.put(f"/api/catalog/products/{product['id']}", json={"active": True}, headers=auth())
    assert restored.json()["active"] is True
    assert events(client, "ProductChanged")[-1]["payload"]["active"] is True


def test_barcode_lookup_and_conflicts(client: TestClient, auth: Auth) -> None:
    code = ean13("590123412345")
    product = create(client, auth, "TEA-1", "Green tea", 350, barcodes=[code])
    found = client.get(f"/api/catalog/barcodes/{code}", headers=auth("cashier"))
    assert (found.status_code, found.json()["id"]) == (200, product["id"])
    assert client.get(f"/api/catalog/barcodes/{ean13('590123412346')}", headers=auth("cashier")).status_code == 404
    clash = client.post(
        "/api/catalog/products", json={"sku": "TEA-2", "name": "Tea", "price_minor": 1, "barcodes": [code]}, headers=auth()
    )
    assert clash.status_code == 409 and "barcode" in clash.json()["detail"]
    dup = client.post("/api/catalog/products", json={"sku": "TEA-1", "name": "Tea", "price_minor": 1}, headers=auth())
    assert dup.status_code == 409 and "SKU" in dup.json()["detail"]


def names(page: dict[str, Any]) -> list[str]:
    return [i["name"] for i in page["items"]]


def test_search_exact_first_then_word_prefixes(client: TestClient, auth: Auth) -> None:
    code = ean13("871234567890")
    create(client, auth, "CUP-ESP", "Espresso cup", barcodes=[code])
    create(client, auth, "CUP-CAP", "Cappuccino cup")
    create(client, auth, "CB-1", "Cupboard, oak")
    create(client, auth, "CRB-1", "Crème brûlée")
    create(client, auth, "SAUCER", "Saucer for cups")
    old = create(client, auth, "CUP-OLD", "Old cup")
    client.delete(f"/api/catalog/products/{old['id']}", headers=auth())
    cashier = auth("cashier")

    def search(q: str, **params: Any) -> dict[str, Any]:
        response = client.get("/api/catalog/search", params={"q": q, **params}, headers=cashier)
        assert response.status_code == 200, response.text
        return response.json()

    # word prefix, in (matching word, name) order; archived products left out
    assert names(search("cup")) == ["Cappuccino cup", "Espresso cup", "Cupboard, oak", "Saucer for cups"]
    assert "Old cup" in names(search("cup", include_archived=True))
    # every word must match (as a prefix), in any order, any case
    assert names(search("CUP esp")) == ["Espresso cup"]
    assert names(search("cu sau")) == ["Saucer for cups"]
    # accents folded both ways
    assert names(search("creme")) == ["Crème brûlée"] == names(search("brûl"))
    # exact barcode and SKU come first and say so
    hit = search(code)["items"][0]
    assert (hit["name"], hit["match"]) == ("Espresso cup", "barcode")
    first = search("CB-1")["items"][0]
    assert (first["name"], first["match"]) == ("Cupboard, oak", "sku")
    assert names(search(code[:6])) == ["Espresso cup"]  # barcode prefix
    # pages
    first = search("cup", limit=3)
    assert (len(first["items"]), first["next_offset"]) == (3, 3)
    rest = search("cup", limit=3, offset=3)
    assert (names(rest), rest["next_offset"]) == (["Saucer for cups"], None)
    assert search("zzz")["items"] == []
    # the product list's q uses the same search, with a count
    page = client.get("/api/catalog/products", params={"q": "cup"}, headers=cashier).json()
    assert (page["total"], page["total_exact"], len(page["items"])) == (4, True, 4)
    legacy = client.get("/api/items", params={"q": "CUP-CAP"}, headers=cashier).json()
    assert names(legacy)[0] == "Cappuccino cup"


def test_a_rename_or_new_barcode_is_searchable_at_once(client: TestClient, auth: Auth) -> None:
    product = create(client, auth, "P-1", "Blue pen")
    code = ean13("400000000001")
    client.put(f"/api/catalog/products/{product['id']}", json={"name": "Red marker", "barcodes": [code]}, headers=auth())
    search = lambda q: names(client.get("/api/catalog/search", params={"q": q}, headers=auth()).json())  # noqa: E731
    assert search("blue") == []
    assert search("mark") == ["Red marker"]
    assert search(code) == ["Red marker"]


def test_outlet_prices(client: TestClient, auth: Auth) -> None:
    product = create(client, auth, "BREAD", "Bread", 250)
    put = client.put(f"/api/catalog/products/{product['id']}/prices/{A}", json={"price_minor": 275}, headers=auth())
    assert put.status_code == 200, put.text
    assert events(client, "OutletPriceChanged")[-1]["payload"] == {
        "product_id": product["id"],
        "outlet_id": A,
        "price_minor": 275,
        "currency": "EUR",
    }
    got = client.get(f"/api/catalog/products/{product['id']}", params={"outlet_id": A}, headers=auth("cashier")).json()
    assert (got["price_minor"], got["outlet_price_minor"]) == (250, 275)
    hit = client.get("/api/catalog/search", params={"q": "bread", "outlet_id": A}, headers=auth("cashier")).json()["items"][0]
    assert hit["outlet_price_minor"] == 275
    # another outlet's prices are not this manager's business
    assert (
        client.put(f"/api/catalog/products/{product['id']}/prices/{B}", json={"price_minor": 1}, headers=auth()).status_code
        == 404
    )
    assert (
        client.get(f"/api/catalog/products/{product['id']}", params={"outlet_id": B}, headers=auth("cashier")).status_code == 404
    )
    assert (
        client.put(
            f"/api/catalog/products/{product['id']}/prices/{A}", json={"price_minor": 1}, headers=auth("cashier")
        ).status_code
        == 403
    )
    listed = client.get(f"/api/catalog/products/{product['id']}/prices", headers=auth()).json()
    assert [(p["outlet_id"], p["price_minor"]) for p in listed] == [(A, 275)]
    assert client.delete(f"/api/catalog/products/{product['id']}/prices/{A}", headers=auth()).status_code == 204
    assert events(client, "OutletPriceChanged")[-1]["payload"]["price_minor"] is None
    assert (
        client.get(f"/api/catalog/products/{product['id']}", params={"outlet_id": A}, headers=auth()).json()["outlet_price_minor"]
        is None
    )


def test_category_tree(client: TestClient, auth: Auth) -> None:
    drinks = client.post("/api/catalog/categories", json={"name": "Drinks"}, headers=auth()).json()
    coffee = client.post("/api/catalog/categories", json={"name": "Coffee", "parent_id": drinks["id"]}, headers=auth()).json()
    assert coffee["path"] == "Drinks / Coffee"
    create(client, auth, "BEANS", "Beans", category_id=coffee["id"])
    create(client, auth, "WATER", "Water", category_id=drinks["id"])
    under = client.get("/api/catalog/products", params={"category_id": drinks["id"]}, headers=auth()).json()
    assert sorted(names(under)) == ["Beans", "Water"]
    only = client.get(
        "/api/catalog/products", params={"category_id": drinks["id"], "include_subcategories": False}, headers=auth()
    ).json()
    assert names(only) == ["Water"]
    assert client.get("/api/catalog/products/" + under["items"][0]["id"], headers=auth()).json()["category_name"] in (
        "Coffee",
        "Drinks",
    )
    loop = client.put(f"/api/catalog/categories/{drinks['id']}", json={"parent_id": coffee["id"]}, headers=auth())
    assert loop.status_code == 422
    renamed = client.put(f"/api/catalog/categories/{coffee['id']}", json={"name": "Coffee beans"}, headers=auth()).json()
    assert renamed["path"] == "Drinks / Coffee beans"
    assert client.delete(f"/api/catalog/categories/{drinks['id']}", headers=auth()).status_code == 409
    empty = client.post("/api/catalog/categories", json={"name": "Empty"}, headers=auth()).json()
    assert client.delete(f"/api/catalog/categories/{empty['id']}", headers=auth()).status_code == 204


# --- quick keys (issue 17): the tiles an outlet's tills show first, arranged by its manager


def tiles(client: TestClient, auth: Auth, outlet_id: str = A, role: str = "cashier") -> list[tuple[str, int, int | None]]:
    response = client.get(f"/api/catalog/outlets/{outlet_id}/quick-keys", headers=auth(role))
    assert response.status_code == 200, response.text
    return [(p["name"], p["price_minor"], p["outlet_price_minor"]) for p in response.json()]


def put(client: TestClient, auth: Auth, ids: list[str], outlet_id: str = A, role: str = "manager") -> object:
    return client.put(f"/api/catalog/outlets/{outlet_id}/quick-keys", json={"product_ids": ids}, headers=auth(role))


def test_a_manager_arranges_the_tiles_and_the_till_reads_them_in_order(client: TestClient, auth: Auth) -> None:
    coffee, bun, tea = (
        create(client, auth, sku, name, price)
        for sku, name, price in (("C", "Coffee", 300), ("B", "Bun", 150), ("T", "Tea", 250))
    )
    assert tiles(client, auth) == []
    answer = put(client, auth, [tea["id"], coffee["id"], bun["id"]])
    assert answer.status_code == 200, answer.text
    assert [p["name"] for p in answer.json()] == ["Tea", "Coffee", "Bun"]
    # the outlet's own price is on the tile
    assert (
        client.put(f"/api/catalog/products/{coffee['id']}/prices/{A}", json={"price_minor": 320}, headers=auth()).status_code
        == 200
    )
    assert tiles(client, auth) == [("Tea", 250, None), ("Coffee", 300, 320), ("Bun", 150, None)]
    # rearranged, one removed
    assert put(client, auth, [bun["id"], tea["id"]]).status_code == 200
    assert tiles(client, auth) == [("Bun", 150, None), ("Tea", 250, None)]
    # an archived product leaves the tiles by itself
    assert client.delete(f"/api/catalog/products/{tea['id']}", headers=auth()).status_code in (200, 204)
    assert tiles(client, auth) == [("Bun", 150, None)]
    assert put(client, auth, []).status_code == 200
    assert tiles(client, auth) == []


def test_refusals_say_which_tile_and_why(client: TestClient, auth: Auth) -> None:
    coffee = create(client, auth, "C", "Coffee", 300)
    old = create(client, auth, "O", "Old stock", 100)
    assert client.delete(f"/api/catalog/products/{old['id']}", headers=auth()).status_code in (200, 204)
    unknown = put(client, auth, [coffee["id"], "no-such-product"])
    assert unknown.status_code == 422 and unknown.json()["detail"] == "tile 2: product no-such-product does not exist"
    archived = put(client, auth, [old["id"]])
    assert archived.status_code == 422 and "tile 1" in archived.json()["detail"] and "archived" in archived.json()["detail"]
    twice = put(client, auth, [coffee["id"], coffee["id"]])
    assert twice.status_code == 422 and "twice" in str(twice.json()["detail"])
    too_many = put(client, auth, [coffee["id"]] * 49)
    assert too_many.status_code == 422
    assert tiles(client, auth) == []  # nothing half-written
    # a cashier reads the tiles, never arranges them; another outlet is not this manager's
    assert put(client, auth, [coffee["id"]], role="cashier").status_code == 403
    assert put(client, auth, [coffee["id"]], outlet_id=B).status_code == 404
    assert client.get(f"/api/catalog/outlets/{B}/quick-keys", headers=auth("cashier")).status_code == 404


def test_a_product_takes_a_tax_class_added_on_the_tax_page(client: TestClient, auth: Auth) -> None:
    """Tax classes are the outlets' (sales' rate tables, where a manager adds more): the
    catalog takes any name in their form, and refuses one that cannot be a class."""
    food = client.post(
        "/api/catalog/products",
        json={"sku": "F1", "name": "Bread", "price_minor": 250, "tax_class": "food-reduced"},
        headers=auth(),
    )
    assert food.status_code == 201 and food.json()["tax_class"] == "food-reduced"
    bad = client.post(
        "/api/catalog/products", json={"sku": "F2", "name": "Cake", "price_minor": 250, "tax_class": "Luxury Tax"}, headers=auth()
    )
    assert bad.status_code == 422 and "tax_class" in bad.text
