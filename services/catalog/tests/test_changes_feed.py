"""The tills' replica feed (GET /api/catalog/changes, issue 15, ADR 0015) on SQLite: a
fill from no cursor gives the whole catalogue at the outlet's prices; every change after
a cursor comes once, tombstones too; another outlet's prices stay out; bad cursors and
limits are refused; writes interleaved with a fill are not lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from pos_catalog import changes
from pos_catalog.app import create_app
from pos_catalog.config import Settings
from pos_catalog.domain import expected_check_digit
from pos_platform.bus import InProcessBus
from pos_platform.migrate import upgrade
from pos_platform.testing import AuthHeaders, auth_headers

A, B = "outlet-a", "outlet-b"
Auth = AuthHeaders


def ean13(body12: str) -> str:
    return body12 + str(expected_check_digit(body12))


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/catalog.db", jwt_public_key_file=str(keys[1]))
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        yield c


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="manager", outlets=[A, B])


class Replica:
    """What a till keeps: products, categories, and the cursor; pages applied in order."""

    def __init__(self, outlet_id: str) -> None:
        self.outlet_id = outlet_id
        self.products: dict[str, dict[str, Any]] = {}
        self.categories: dict[str, dict[str, Any]] = {}
        self.cursor: str | None = None
        self.pages: list[dict[str, Any]] = []

    def fetch(self, client: TestClient, headers: dict[str, str], limit: int = 1000) -> dict[str, Any]:
        params: dict[str, Any] = {"outlet_id": self.outlet_id, "limit": limit}
        if self.cursor:
            params["cursor"] = self.cursor
        response = client.get("/api/catalog/changes", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["products"]) + len(page["categories"]) + len(page["deleted_categories"]) <= limit
        for product in page["products"]:
            self.products[product["id"]] = product
        for category in page["categories"]:
            self.categories[category["id"]] = category
        for category_id in page["deleted_categories"]:
            self.categories.pop(category_id, None)
        self.cursor = page["next_cursor"]
        self.pages.append(page)
        return page

    def sync(self, client: TestClient, headers: dict[str, str], limit: int = 1000) -> list[dict[str, Any]]:
        """Pages until up to date; the pages read."""
        start = len(self.pages)
        while self.fetch(client, headers, limit)["more"]:
            pass
        return self.pages[start:]


def server_state(client: TestClient, headers: dict[str, str], outlet_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The catalogue as the other endpoints show it, in the replica's shape."""
    items = client.get(
        "/api/catalog/products", params={"limit": 500, "include_archived": True, "outlet_id": outlet_id}, headers=headers
    ).json()["items"]
    products = {
        p["id"]: {
            "id": p["id"],
            "sku": p["sku"],
            "name": p["name"],
            "barcodes": p["barcodes"],
            "category_id": p["category_id"],
            "price_minor": p["price_minor"] if p["outlet_price_minor"] is None else p["outlet_price_minor"],
            "outlet_price": p["outlet_price_minor"] is not None,
            "currency": p["currency"],
            "tax_class": p["tax_class"],
            "unit": p["unit"],
            "active": p["active"],
            "thumbnail_url": p["thumbnail_url"],
        }
        for p in items
    }
    cats = {
        c["id"]: {"id": c["id"], "name": c["name"], "parent_id": c["parent_id"]}
        for c in client.get("/api/catalog/categories", headers=headers).json()
    }
    return products, cats


def create(client: TestClient, auth: Auth, sku: str, price: int = 100, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/catalog/products", json={"sku": sku, "name": f"Product {sku}", "price_minor": price, **extra}, headers=auth()
    )
    assert response.status_code == 201, response.text
    return response.json()


def category(client: TestClient, auth: Auth, name: str, parent_id: str | None = None) -> str:
    response = client.post(
        "/api/catalog/categories", json={"name": name, **({"parent_id": parent_id} if parent_id else {})}, headers=auth()
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def small_catalogue(client: TestClient, auth: Auth, count: int = 12) -> list[dict[str, Any]]:
    drinks = category(client, auth, "Drinks")
    coffee = category(client, auth, "Coffee", drinks)
    made = [
        create(
            client,
            auth,
            f"SKU-{n}",
            100 + n,
            barcodes=[ean13(f"4006381{n:05d}")],
            category_id=coffee if n % 2 else drinks,
            tax_class="reduced" if n % 3 else "standard",
        )
        for n in range(count)
    ]
    for product in made[:3]:
        assert (
            client.put(f"/api/catalog/products/{product['id']}/prices/{A}", json={"price_minor": 7}, headers=auth()).status_code
            == 200
        )
    for product in made[2:5]:
        assert (
            client.put(f"/api/catalog/products/{product['id']}/prices/{B}", json={"price_minor": 9}, headers=auth()).status_code
            == 200
        )
    return made


def test_a_fill_in_small_pages_is_the_whole_catalogue_at_the_outlets_prices(client: TestClient, auth: Auth) -> None:
    made = small_catalogue(client, auth)
    assert client.delete(f"/api/catalog/products/{made[-1]['id']}", headers=auth()).status_code == 204
    replica = Replica(A)
    pages = replica.sync(client, auth("cashier", [A]), limit=4)
    assert len(pages) > 3 and all(p["more"] for p in pages[:-1]) and not pages[-1]["more"]
    assert (replica.products, replica.categories) == server_state(client, auth(), A)
    # A's own price where it has one; B's prices never show at A.
    assert [replica.products[p["id"]]["price_minor"] for p in made[:5]] == [7, 7, 7, 103, 104]
    assert replica.products[made[-1]["id"]]["active"] is False
    other = Replica(B)
    other.sync(client, auth("cashier", [B]), limit=1000)
    assert [other.products[p["id"]]["price_minor"] for p in made[:5]] == [100, 101, 9, 9, 9]
    assert (other.products, other.categories) == server_state(client, auth(), B)


def test_a_change_after_the_cursor_comes_exactly_once(client: TestClient, auth: Auth) -> None:
    made = small_catalogue(client, auth)
    replica = Replica(A)
    replica.sync(client, auth("cashier", [A]))
    assert replica.sync(client, auth("cashier", [A]))[0]["products"] == []  # nothing new
    before = replica.cursor
    assert client.put(f"/api/catalog/products/{made[4]['id']}", json={"price_minor": 555}, headers=auth()).status_code == 200
    pages = replica.sync(client, auth("cashier", [A]))
    assert [p["id"] for page in pages for p in page["products"]] == [made[4]["id"]]
    assert replica.products[made[4]["id"]]["price_minor"] == 555
    assert replica.cursor != before
    # Again from the new cursor: nothing; an unchanged PUT numbers nothing either.
    assert client.put(f"/api/catalog/products/{made[4]['id']}", json={"price_minor": 555}, headers=auth()).status_code == 200
    assert [p for page in replica.sync(client, auth("cashier", [A])) for p in page["products"]] == []


def test_archive_barcode_removal_outlet_price_removal_and_category_deletion_arrive(client: TestClient, auth: Auth) -> None:
    made = small_catalogue(client, auth)
    replica = Replica(A)
    replica.sync(client, auth("cashier", [A]))
    spare = category(client, auth, "Seasonal")
    replica.sync(client, auth("cashier", [A]))
    assert spare in replica.categories
    first, second, third = made[0]["id"], made[1]["id"], made[6]["id"]
    assert client.delete(f"/api/catalog/products/{third}", headers=auth()).status_code == 204
    assert client.put(f"/api/catalog/products/{second}", json={"barcodes": []}, headers=auth()).status_code == 200
    assert client.delete(f"/api/catalog/products/{first}/prices/{A}", headers=auth()).status_code == 204
    assert client.delete(f"/api/catalog/products/{first}/prices/{B}", headers=auth()).status_code == 204  # B's: no effect at A
    assert client.delete(f"/api/catalog/categories/{spare}", headers=auth()).status_code == 204
    drinks = next(c for c in replica.categories.values() if c["name"] == "Drinks")["id"]
    assert client.put(f"/api/catalog/categories/{drinks}", json={"name": "Beverages"}, headers=auth()).status_code == 200
    pages = replica.sync(client, auth("cashier", [A]))
    got = [p["id"] for page in pages for p in page["products"]]
    assert sorted(got) == sorted([first, second, third])  # once each
    assert replica.products[third]["active"] is False
    assert replica.products[second]["barcodes"] == []
    assert replica.products[first]["price_minor"] == 100 and replica.products[first]["outlet_price"] is False
    assert [c for page in pages for c in page["deleted_categories"]] == [spare]
    assert replica.categories[drinks]["name"] == "Beverages" and spare not in replica.categories
    assert (replica.products, replica.categories) == server_state(client, auth(), A)


def test_a_barcode_moved_between_products_ends_on_the_new_one(client: TestClient, auth: Auth) -> None:
    code = ean13("400638199999")
    x = create(client, auth, "X", barcodes=[code])["id"]
    y = create(client, auth, "Y")["id"]
    replica = Replica(A)
    replica.sync(client, auth("cashier", [A]))
    assert client.put(f"/api/catalog/products/{x}", json={"barcodes": []}, headers=auth()).status_code == 200
    assert client.put(f"/api/catalog/products/{y}", json={"barcodes": [code]}, headers=auth()).status_code == 200
    replica.sync(client, auth("cashier", [A]), limit=1)
    owners = [p["id"] for p in replica.products.values() if code in p["barcodes"]]
    assert owners == [y]


def test_another_outlets_feed_is_not_found_and_its_cursor_is_refused(client: TestClient, auth: Auth) -> None:
    small_catalogue(client, auth, 3)
    cashier_a = auth("cashier", [A])
    response = client.get("/api/catalog/changes", params={"outlet_id": B}, headers=cashier_a)
    assert response.status_code == 404
    assert client.get("/api/catalog/changes", params={"outlet_id": A}).status_code == 401
    cursor = client.get("/api/catalog/changes", params={"outlet_id": A}, headers=cashier_a).json()["next_cursor"]
    response = client.get("/api/catalog/changes", params={"outlet_id": B, "cursor": cursor}, headers=auth("manager", [A, B]))
    assert response.status_code == 422 and "another outlet" in response.json()["detail"]


@pytest.mark.parametrize("limit", [0, -1, 5001, "many"])
def test_a_limit_out_of_bounds_is_refused(client: TestClient, auth: Auth, limit: Any) -> None:
    response = client.get("/api/catalog/changes", params={"outlet_id": A, "limit": limit}, headers=auth("cashier", [A]))
    assert response.status_code == 422


def test_malformed_and_future_cursors_are_refused_with_a_message(client: TestClient, auth: Auth) -> None:
    small_catalogue(client, auth, 2)
    headers = auth("cashier", [A])
    top = client.get("/api/catalog/changes", params={"outlet_id": A}, headers=headers).json()["next_cursor"]
    seq = changes.decode_cursor(top, A)
    for bad in ["nonsense", "c1.", "c1.!!!!", "c1.LTU", changes.encode_cursor(seq, A)[:-2], "c1." + "A" * 61, "x" * 65]:
        response = client.get("/api/catalog/changes", params={"outlet_id": A, "cursor": bad}, headers=headers)
        assert response.status_code == 422, bad
        detail = response.json()["detail"]
        assert isinstance(detail, list) or "cursor" in detail, bad
    future = changes.encode_cursor(seq + 1, A)
    response = client.get("/api/catalog/changes", params={"outlet_id": A, "cursor": future}, headers=headers)
    assert response.status_code == 422 and "ahead of the catalogue" in response.json()["detail"]
    assert client.get("/api/catalog/changes", params={"outlet_id": A, "cursor": top}, headers=headers).status_code == 200


def test_a_fill_resumes_from_its_last_cursor(client: TestClient, auth: Auth) -> None:
    small_catalogue(client, auth, 20)
    headers = auth("cashier", [A])
    first = Replica(A)
    for _ in range(3):
        first.fetch(client, headers, limit=5)
    # The till was closed; a new one carries on from the stored cursor.
    resumed = Replica(A)
    resumed.products, resumed.categories, resumed.cursor = dict(first.products), dict(first.categories), first.cursor
    resumed.sync(client, headers, limit=5)
    seen = [p["id"] for page in first.pages + resumed.pages for p in page["products"]]
    # No page read twice, none skipped: each product once, and once more for the three
    # with a price of A's own (a change entry of their own, numbered after the product's).
    assert len(set(seen)) == 20 and len(seen) == 23
    assert (resumed.products, resumed.categories) == server_state(client, auth(), A)


def test_writes_interleaved_with_a_fill_are_not_lost(client: TestClient, auth: Auth) -> None:
    made = small_catalogue(client, auth, 30)
    headers = auth("cashier", [A])
    replica = Replica(A)
    step = 0
    while replica.fetch(client, headers, limit=4)["more"]:
        # Between pages: change a product already read, one not read yet, add one,
        # archive one, move an outlet price, delete and add categories.
        step += 1
        early, late = made[step % 5]["id"], made[-(step % 7) - 1]["id"]
        client.put(f"/api/catalog/products/{early}", json={"name": f"renamed {step}"}, headers=auth())
        client.put(f"/api/catalog/products/{late}", json={"price_minor": 1000 + step}, headers=auth())
        create(client, auth, f"NEW-{step}")
        if step % 2:
            client.put(f"/api/catalog/products/{made[step % 30]['id']}/prices/{A}", json={"price_minor": step}, headers=auth())
        else:
            client.delete(f"/api/catalog/products/{made[(step - 1) % 30]['id']}/prices/{A}", headers=auth())
        if step % 3 == 0:
            client.delete(f"/api/catalog/products/{made[(step + 5) % 30]['id']}", headers=auth())
            category(client, auth, f"Extra {step}")
        if step > 40:
            break
    replica.sync(client, headers, limit=4)
    assert (replica.products, replica.categories) == server_state(client, auth(), A)


def test_writes_from_threads_during_a_fill_are_not_lost(client: TestClient, auth: Auth) -> None:
    made = small_catalogue(client, auth, 40)
    stop = threading.Event()
    failures: list[str] = []

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set() and i < 60:
            i += 1
            product = made[(n * 7 + i) % len(made)]["id"]
            response = client.put(f"/api/catalog/products/{product}", json={"price_minor": n * 1000 + i}, headers=auth())
            if response.status_code != 200:
                failures.append(response.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    replica = Replica(A)
    headers = auth("cashier", [A])
    try:
        while any(t.is_alive() for t in threads):
            replica.sync(client, headers, limit=3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    replica.sync(client, headers, limit=3)
    assert failures == []
    assert (replica.products, replica.categories) == server_state(client, auth(), A)


def test_an_import_is_numbered_and_unchanged_rows_are_not(client: TestClient, auth: Auth) -> None:
    headers = {**auth(), "Content-Type": "text/csv"}
    csv = "sku,name,price_minor,category,barcodes\nIMP-1,One,100,Food > Fresh,{}\nIMP-2,Two,200,Food,\n".format(
        ean13("400638111111")
    )

    def run(body: str) -> None:
        started = client.post("/api/catalog/imports", content=body.encode(), headers=headers)
        assert started.status_code == 202, started.text
        for _ in range(200):
            job = client.get(started.headers["location"], headers=auth()).json()
            if job["status"] in ("done", "failed"):
                break
            threading.Event().wait(0.05)
        assert job["status"] == "done", job

    run(csv)
    replica = Replica(A)
    replica.sync(client, auth("cashier", [A]))
    assert sorted(p["sku"] for p in replica.products.values()) == ["IMP-1", "IMP-2"]
    assert sorted(c["name"] for c in replica.categories.values()) == ["Food", "Fresh"]
    run(csv.replace("Two,200", "Two,250"))
    pages = replica.sync(client, auth("cashier", [A]))
    assert [p["sku"] for page in pages for p in page["products"]] == ["IMP-2"]
    assert [c for page in pages for c in page["categories"]] == []
    assert (replica.products, replica.categories) == server_state(client, auth(), A)


def test_the_migration_numbers_an_existing_catalogue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade("catalog", url, "0005")
    engine = sa.create_engine(url)
    t = "2026-01-01 00:00:00"
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO categories (id, name, parent_id, created_at) VALUES ('c1', 'Tea', NULL, :t)"), {"t": t})
        for n in range(3):
            c.execute(
                sa.text(
                    "INSERT INTO products (id, sku, name, description, category_id, price_minor, cost_minor, currency, tax_class, unit, "
                    "active, created_at, updated_at, barcode_list) VALUES (:id, :sku, 'Tea', '', 'c1', 100, 0, 'EUR', 'standard', 'each', 1, :t, :t, '')"
                ),
                {"id": f"p{n}", "sku": f"T{n}", "t": t},
            )
        c.execute(
            sa.text(
                "INSERT INTO price_overrides (product_id, outlet_id, price_minor, updated_at) VALUES ('p1', 'outlet-a', 90, :t)"
            ),
            {"t": t},
        )
    upgrade("catalog", url)
    with engine.begin() as c:
        rows = c.execute(sa.text("SELECT outlet_id, kind, entity_id, change_seq FROM catalog_changes ORDER BY change_seq")).all()
        counter = c.execute(sa.text("SELECT seq FROM change_counter")).scalar()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("", "c", "c1", 1),
        ("", "p", "p0", 2),
        ("", "p", "p1", 3),
        ("", "p", "p2", 4),
        ("outlet-a", "p", "p1", 5),
    ]
    assert counter == 5
