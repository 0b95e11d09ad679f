"""Catalog on the local stack, through the gateway only: a CSV import with progress,
rejected files that import nothing, search and barcode lookup, export, and the events
that carry imported products and outlet prices to the other services."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from pos_catalog.domain import expected_check_digit
from tests.polling import eventually
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


def ean13(body12: str) -> str:
    return body12 + str(expected_check_digit(body12))


@pytest.fixture(scope="module")
def admin(local_stack: Stack) -> httpx.Client:
    return local_stack.client(local_stack.login())


def run_import(admin: httpx.Client, text: str) -> tuple[dict[str, Any], list[float]]:
    started = admin.post(
        "/api/catalog/imports", content=text.encode(), headers={"Content-Type": "text/csv"}, params={"filename": "e2e.csv"}
    )
    assert started.status_code == 202, started.text
    progress = []
    job = started.json()
    while job["status"] not in ("done", "failed"):
        time.sleep(0.1)
        job = admin.get(started.headers["location"]).json()
        progress.append(job["progress"])
    return job, progress


def test_import_validates_first_then_imports_everything_with_progress(admin: httpx.Client) -> None:
    run = uuid.uuid4().hex[:6]
    base = int(uuid.uuid4().int % 10**6)
    rows = ["sku,name,barcodes,category,price_minor,tax_class"]
    for n in range(3000):
        rows.append(
            f"IMP-{run}-{n:05d},Imported {run} widget {n},{ean13(f'29{base:06d}{n:04d}')},E2E {run} > Widgets,{100 + n},standard"
        )
    text = "\n".join(rows) + "\n"

    # one bad row among 3000: nothing at all is imported, and the error says where
    bad = text.replace(f"IMP-{run}-01500,Imported {run} widget 1500,", f"IMP-{run}-01500,,", 1)
    job, _ = run_import(admin, bad)
    assert job["status"] == "failed"
    assert job["errors"] == [{"row": 1502, "column": "name", "message": "name is empty"}]
    assert admin.get("/api/catalog/search", params={"q": f"IMP-{run}-00001"}).json()["items"] == []

    job, progress = run_import(admin, text)
    assert (job["status"], job["created"], job["total_rows"], job["progress"]) == ("done", 3000, 3000, 1.0), job
    assert progress == sorted(progress)  # only ever forward

    # found by barcode, SKU and name words, through the gateway
    code = ean13(f"29{base:06d}1234")
    hit = admin.get(f"/api/catalog/barcodes/{code}").json()
    assert (hit["sku"], hit["category_name"]) == (f"IMP-{run}-01234", "Widgets")
    page = admin.get("/api/catalog/search", params={"q": f"widg {run}", "limit": 20}).json()
    assert len(page["items"]) == 20 and page["next_offset"] == 20
    assert all(run in item["name"] for item in page["items"])
    assert admin.get("/api/catalog/search", params={"q": f"IMP-{run}-02999"}).json()["items"][0]["match"] == "sku"

    # ProductCreated reached sales: an imported product can be sold at its price
    product_id = hit["id"]
    price = eventually(
        lambda: (r := admin.get(f"/api/sales/prices/{product_id}")).status_code == 200 and r.json(),
        "the price replica",
        timeout=60.0,
    )
    assert price["price_minor"] == 1334


def test_export_streams_the_catalogue_as_csv(admin: httpx.Client) -> None:
    with admin.stream("GET", "/api/catalog/products/export") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        lines = list(response.iter_lines())
    assert lines[0] == "sku,name,description,barcodes,category,price_minor,cost_minor,tax_class,unit,active"
    assert len(lines) > 1


def test_an_outlet_price_is_published_and_given_to_that_outlet(admin: httpx.Client) -> None:
    outlet = (
        admin.post("/api/identity/outlets", json={"name": f"Prices {uuid.uuid4().hex[:6]}", "currency": "EUR"})
        .raise_for_status()
        .json()
    )
    product = admin.post(
        "/api/catalog/products", json={"sku": f"OP-{uuid.uuid4().hex[:8]}", "name": "Outlet priced", "price_minor": 500}
    ).json()
    put = admin.put(f"/api/catalog/products/{product['id']}/prices/{outlet['id']}", json={"price_minor": 450})
    assert put.status_code == 200, put.text
    got = admin.get(f"/api/catalog/products/{product['id']}", params={"outlet_id": outlet["id"]}).json()
    assert (got["price_minor"], got["outlet_price_minor"]) == (500, 450)
