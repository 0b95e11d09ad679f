"""CSV import and export: every row checked first, errors by row and column, nothing
half-imported, progress reported by the job, export read back unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_catalog.app import create_app
from pos_catalog.config import Settings
from pos_catalog.csv_format import parse
from pos_catalog.domain import expected_check_digit
from pos_platform.bus import InProcessBus
from pos_platform.testing import mint_token

from .test_catalog_api import events


def ean13(body12: str) -> str:
    return body12 + str(expected_check_digit(body12))


@pytest.fixture
def env(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[tuple[TestClient, dict[str, str]]]:
    private, public = keys
    settings = Settings(database_url=f"sqlite:///{tmp_path}/catalog.db", jwt_public_key_file=str(public))
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {mint_token(private, 'manager', ['outlet-a'])}"}


def run_import(client: TestClient, headers: dict[str, str], text: str, **params: Any) -> dict[str, Any]:
    started = client.post(
        "/api/catalog/imports", content=text.encode(), params=params, headers={**headers, "Content-Type": "text/csv"}
    )
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"/api/catalog/imports/{started.json()['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(started.headers["location"], headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        assert 0.0 <= job["progress"] <= 1.0
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def product_count(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/catalog/products", params={"include_archived": True}, headers=headers).json()["total"]


GOOD = f"""sku,name,barcodes,category,price_minor,cost_minor,tax_class,unit,active
TEA-1,Green tea,{ean13("590123412345")},Drinks > Tea,350,120,reduced,each,true
TEA-2,Black tea,{ean13("590123412346")}|{ean13("590123412347")},Drinks > Tea,300,100,reduced,each,true
APL-1,Apples,,Fruit,299,150,reduced,weight,true
"""


def test_a_valid_file_is_imported_with_events_and_categories(env: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = env
    job = run_import(client, headers, GOOD, filename="first.csv")
    assert (job["status"], job["created"], job["updated"], job["progress"], job["errors"]) == ("done", 3, 0, 1.0, [])
    assert job["filename"] == "first.csv"
    assert len(events(client, "ProductCreated")) == 3
    tea = client.get("/api/catalog/search", params={"q": "black"}, headers=headers).json()["items"][0]
    assert (tea["unit"], tea["tax_class"], len(tea["barcodes"])) == ("each", "reduced", 2)
    paths = [c["path"] for c in client.get("/api/catalog/categories", headers=headers).json()]
    assert paths == ["Drinks", "Drinks / Tea", "Fruit"]
    # the same file again changes nothing and says so
    again = run_import(client, headers, GOOD)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert len(events(client, "ProductChanged")) == 0
    # an update of one row: one ProductChanged, the rest unchanged; archiving: ProductArchived
    changed = GOOD.replace("Green tea,", "Green tea (loose),").replace(
        "299,150,reduced,weight,true", "299,150,reduced,weight,false"
    )
    job = run_import(client, headers, changed)
    assert (job["created"], job["updated"], job["unchanged"]) == (0, 2, 1)
    assert {e["payload"]["name"] for e in events(client, "ProductChanged")} == {"Green tea (loose)", "Apples"}
    assert len(events(client, "ProductArchived")) == 1
    assert client.get("/api/catalog/search", params={"q": "loose"}, headers=headers).json()["items"][0]["sku"] == "TEA-1"


def test_errors_are_reported_by_row_and_column_and_nothing_is_imported(env: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = env
    bad_code = ean13("590123412345")[:-1] + "0" if ean13("590123412345")[-1] != "0" else ean13("590123412345")[:-1] + "1"
    text = f"""sku,name,barcodes,price_minor,tax_class
OK-1,Fine,,100,standard
BAD-1,Wrong digit,{bad_code},100,standard
BAD-2,Decimal price,,12.50,standard
,No sku,,100,standard
OK-1,Duplicate,,100,standard
BAD-3,Bad tax,,100,luxury tax!
"""
    job = run_import(client, headers, text)
    assert job["status"] == "failed"
    got = [(e["row"], e["column"]) for e in job["errors"]]
    assert got == [(3, "barcodes"), (4, "price_minor"), (5, "sku"), (6, "sku"), (7, "tax_class")]
    messages = {e["row"]: e["message"] for e in job["errors"]}
    assert "check digit (digit 13)" in messages[3]
    assert "minor units, e.g. 1250 for 12.50" in messages[4]
    assert "already on row 2" in messages[6]
    assert job["error_count"] == 5 and "nothing was imported" in job["message"]
    assert product_count(client, headers) == 0
    assert events(client) == []


def test_header_problems_and_barcodes_owned_in_the_database(env: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = env
    job = run_import(client, headers, "sku,title,price_minor\nA,B,1\n")
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(1, "name"), (1, "title")]
    run_import(client, headers, GOOD)
    owned = ean13("590123412345")  # TEA-1's
    job = run_import(client, headers, f"sku,name,barcodes,price_minor\nNEW-1,New,{owned},100\n")
    assert job["status"] == "failed"
    assert job["errors"] == [{"row": 2, "column": "barcodes", "message": f"barcode {owned} already belongs to product TEA-1"}]
    # moving it is fine when the same file takes it off TEA-1
    job = run_import(client, headers, f"sku,name,barcodes,price_minor\nTEA-1,Green tea,,350\nNEW-1,New,{owned},100\n")
    assert (job["status"], job["created"], job["updated"]) == ("done", 1, 1), job
    assert client.get(f"/api/catalog/barcodes/{owned}", headers=headers).json()["sku"] == "NEW-1"


def test_dry_run_checks_only(env: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = env
    job = run_import(client, headers, GOOD, dry_run=True)
    assert (job["status"], job["dry_run"], job["total_rows"], job["created"]) == ("done", True, 3, 0)
    assert product_count(client, headers) == 0


def test_multipart_upload_and_semicolons(env: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = env
    text = "\ufeffsku;name;price_minor\nS-1;Semi colon;100\n"
    started = client.post("/api/catalog/imports", files={"file": ("excel.csv", text.encode(), "text/csv")}, headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["filename"] == "excel.csv"
    for _ in range(100):
        job = client.get(started.headers["location"], headers=headers).json()
        if job["status"] == "done":
            break
        time.sleep(0.05)
    assert job["created"] == 1


def test_export_reads_back_unchanged(env: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = env
    run_import(client, headers, GOOD)
    exported = client.get("/api/catalog/products/export", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    lines = exported.text.splitlines()
    assert lines[0] == "sku,name,description,barcodes,category,price_minor,cost_minor,tax_class,unit,active"
    assert len(lines) == 4
    job = run_import(client, headers, exported.text)
    assert (job["status"], job["unchanged"]) == ("done", 3)


def test_blank_lines_and_padding_are_ignored() -> None:
    rows, errors, total = parse(b"sku,name,price_minor\n\n A ,B,1\n")
    assert (len(rows), errors.count, total) == (1, 0, 1)
    assert rows[0].sku == "A"


def test_only_managers_import(env: tuple[TestClient, dict[str, str]], tmp_path: Path) -> None:
    client, _headers = env
    cashier = {"Authorization": f"Bearer {mint_token(tmp_path / 'jwt-private.pem', 'cashier', ['outlet-a'])}"}
    assert client.post("/api/catalog/imports", content=GOOD.encode(), headers=cashier).status_code == 403
    assert client.get("/api/catalog/products/export", headers=cashier).status_code == 403
