"""What catalog reports to identity's audit chain (ADR 0043): a product's price change,
an outlet's own price set, changed or removed, and the price changes of a CSV import,
each as one AuditRecorded in the outbox of the change's transaction. Other edits (a new
name, a barcode) are not audited."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from pos_contracts.events import AuditRecorded
from services.catalog.tests.test_catalog_api import A, Auth, auth, client, create, events  # noqa: F401 (fixtures)
from services.catalog.tests.test_csv_import import GOOD, env, run_import  # noqa: F401 (fixtures)


def _audits(app_client: TestClient) -> list[AuditRecorded]:
    return [AuditRecorded.model_validate(e["payload"]) for e in events(app_client, "AuditRecorded")]


def test_a_price_change_is_audited_with_before_and_after(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "MUG-1", "Mug", 800)
    assert client.put(f"/api/catalog/products/{product['id']}", json={"name": "Big mug"}, headers=auth()).status_code == 200
    assert _audits(client) == []  # a new name is no price change
    assert client.put(f"/api/catalog/products/{product['id']}", json={"price_minor": 950}, headers=auth()).status_code == 200
    [audit] = _audits(client)
    assert (audit.action, audit.actor_id, audit.actor_role, audit.target_type, audit.target_id) == (
        "product.price_changed",
        "user-1",
        "manager",
        "product",
        product["id"],
    )
    assert audit.details == {"sku": "MUG-1", "currency": "EUR", "before": {"price_minor": 800}, "after": {"price_minor": 950}}
    [raw] = events(client, "AuditRecorded")
    assert raw["producer"] == "catalog"


def test_an_outlet_price_set_changed_and_removed_is_audited(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "BREAD-1", "Bread", 250)
    url = f"/api/catalog/products/{product['id']}/prices/{A}"
    assert client.put(url, json={"price_minor": 275}, headers=auth()).status_code == 200
    assert client.put(url, json={"price_minor": 275}, headers=auth()).status_code == 200  # the same: no change, no entry
    assert client.put(url, json={"price_minor": 290}, headers=auth()).status_code == 200
    assert client.delete(url, headers=auth()).status_code == 204
    audits = _audits(client)
    assert [(a.action, a.outlet_id, a.details["before"]["price_minor"], a.details["after"]["price_minor"]) for a in audits] == [
        ("product.outlet_price_changed", A, None, 275),
        ("product.outlet_price_changed", A, 275, 290),
        ("product.outlet_price_changed", A, 290, None),
    ]
    assert {a.details["product_price_minor"] for a in audits} == {250}


def test_an_import_that_changes_prices_is_audited_once(env: tuple[TestClient, dict[str, str]]) -> None:  # noqa: F811
    app_client, headers = env
    run_import(app_client, headers, GOOD)
    assert _audits(app_client) == []  # new products: no price changed
    job = run_import(app_client, headers, GOOD.replace(",350,120,", ",375,120,").replace(",300,100,", ",310,100,"))
    assert (job["status"], job["updated"]) == ("done", 2)
    [audit] = _audits(app_client)
    assert (audit.action, audit.target_type, audit.target_id, audit.actor_id) == (
        "product.prices_imported",
        "import",
        job["id"],
        "user-1",
    )
    listed: list[dict[str, Any]] = audit.details["listed"]
    assert audit.details["price_changes"] == 2
    assert sorted((c["sku"], c["before"], c["after"]) for c in listed) == [("TEA-1", 350, 375), ("TEA-2", 300, 310)]
