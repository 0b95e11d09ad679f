"""Tax from the external tax API on the local stack through the gateway (issue 16, ADR
0064): the tax sandbox runs as its own process (scripts/stack.py, port base + 34,
because the test stack sets POS_TAX_SANDBOX=1), a manager switches one outlet to the
external provider, and

- a quote is taxed by the sandbox per jurisdiction and the sale charges exactly that,
  with the figures per line and jurisdiction stored and printed;
- with the sandbox too slow, the sale completes within the timeout on the built-in
  table, marked "tax estimated", and is in the managers' list; the late answer changes
  nothing.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, make_shop  # noqa: F401 (fixture)
from tests.stack_fixture import Stack, stack_args

pytestmark = pytest.mark.e2e

GERMANY = {"country": "DE", "city": "Berlin", "postal_code": "10115", "line1": "Alexanderplatz 1"}


def tax_sandbox() -> str:
    args = stack_args()
    return f"http://127.0.0.1:{int(args[args.index('--port-base') + 1]) + 34}"


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Any:  # noqa: F811
    httpx.post(f"{tax_sandbox()}/sandbox/reset", timeout=10).raise_for_status()
    shop = make_shop(checkout_stack)
    shop.add_product("lamp", 2500, 20)
    url = f"/api/sales/outlets/{shop.outlet['id']}/settings"
    settings = shop.manager.get(url).raise_for_status().json()
    no_address = shop.manager.put(url, json={**settings, "tax_provider": "external"})
    assert no_address.status_code == 422 and "tax_address" in no_address.text
    saved = shop.manager.put(url, json={**settings, "tax_provider": "external", "tax_address": GERMANY})
    assert saved.status_code == 200, saved.text
    yield shop
    httpx.post(f"{tax_sandbox()}/sandbox/reset", timeout=10)


def sandbox_state() -> dict[str, Any]:
    return httpx.get(f"{tax_sandbox()}/sandbox/state", timeout=10).raise_for_status().json()


def test_a_sale_taxed_by_the_tax_api_charges_what_the_quote_showed_and_stores_each_jurisdiction(shop: Shop) -> None:
    before = sandbox_state()["requests"]
    cart = {"outlet_id": shop.outlet["id"], "lines": [{"product_id": shop.products["lamp"]["id"], "qty": 2}]}
    quoted = shop.cashier.post("/api/sales/quote", json=cart)
    assert quoted.status_code == 200, quoted.text
    shown = quoted.json()
    # 2 x 25.00 EUR, tax included, Germany 19 %: 7.98 of tax (the built-in 20 % would say 8.33)
    assert (shown["total_minor"], shown["tax_minor"], shown["tax_source"], shown["tax_estimated"]) == (
        5000,
        798,
        "external",
        False,
    )
    assert [(j["name"], j["rate"], j["tax_minor"]) for j in shown["tax_jurisdictions"]] == [("Germany", "19.00", 798)]
    assert sandbox_state()["last_request"]["customer_details"]["address"]["city"] == "Berlin"

    body = shop.sale([("lamp", 2)], [{"kind": "cash", "amount_minor": 5000}], tax_quote=shown["tax_quote"])
    sold = shop.cashier.post("/api/sales", json=body)
    assert sold.status_code == 201, sold.text
    receipt = sold.json()
    assert (receipt["total_minor"], receipt["tax_minor"], receipt["tax_source"]) == (5000, 798, "external")
    assert receipt["tax_calculation_id"] == shown["tax_calculation_id"]
    assert sandbox_state()["requests"] == before + 1  # the quote's call only: the sale used its figures

    stored = shop.manager.get(f"/api/sales/{body['id']}").raise_for_status().json()
    assert (stored["tax_source"], stored["tax_estimated"]) == ("external", False)
    assert [
        (t["line_no"], t["jurisdiction"], t["level"], t["rate"], t["taxable_minor"], t["tax_minor"]) for t in stored["tax_lines"]
    ] == [(1, "Germany", "country", "19.00", 4202, 798)]
    printed = shop.cashier.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}).text
    assert "Germany 19.00%" in printed and "TAX ESTIMATED" not in printed

    # The cart changed after the quote: refused, nothing charged or stored.
    other = shop.sale([("lamp", 3)], [{"kind": "cash", "amount_minor": 7500}], tax_quote=shown["tax_quote"])
    refused = shop.cashier.post("/api/sales", json=other)
    assert refused.status_code == 409 and refused.json()["code"] == "tax_quote_stale", refused.text
    assert shop.cashier.get(f"/api/sales/{other['id']}").status_code == 404


def test_the_tax_api_too_slow_the_sale_completes_in_time_as_tax_estimated_and_is_listed_for_a_manager(shop: Shop) -> None:
    httpx.put(f"{tax_sandbox()}/sandbox/failure", json={"mode": "slow", "delay_seconds": 4}, timeout=10).raise_for_status()
    try:
        body = shop.sale([("lamp", 1)], [{"kind": "cash", "amount_minor": 2500}])
        began = time.monotonic()
        sold = shop.cashier.post("/api/sales", json=body)
        took = time.monotonic() - began
    finally:
        httpx.put(f"{tax_sandbox()}/sandbox/failure", json={"mode": "ok"}, timeout=10)
    assert sold.status_code == 201, sold.text
    assert took < 3.0, f"the sale took {took:.2f} s: the till waited for the tax API"  # 0.8 s budget + the sale itself
    receipt = sold.json()
    # The built-in table's 20 %: 25.00 incl. tax -> 4.17
    assert (receipt["tax_minor"], receipt["tax_source"], receipt["tax_estimated"]) == (417, "estimated", True)
    assert "did not answer within 0.8 s" in receipt["tax_estimated_reason"]

    listed = shop.manager.get("/api/sales", params={"outlet_id": shop.outlet["id"], "tax_estimated": "true"}).json()
    assert [(s["id"], s["tax_source"], s["tax_minor"]) for s in listed["items"]] == [(body["id"], "estimated", 417)]

    time.sleep(4)  # the sandbox's late answer has come and gone
    later = shop.manager.get(f"/api/sales/{body['id']}").raise_for_status().json()
    assert (later["tax_minor"], later["total_minor"], later["tax_estimated"]) == (417, 2500, True)
    assert "TAX ESTIMATED" in shop.cashier.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}).text
