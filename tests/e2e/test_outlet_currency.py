"""An outlet in another currency than the catalog's, on the local stack through the
gateway (issue 16, ADR 0075): an outlet made in Swiss francs in identity sells in francs
in sales; a product with no franc price there is refused with what to do, nothing sold;
a manager sets its shelf price in francs (a price in euros for that outlet refused); the
till's feed, the quote, the sale, the receipt and the reports then say CHF."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, make_shop  # noqa: F401 (fixture)
from tests.polling import eventually
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e

FIX = "set a shelf price in CHF for this outlet (Back office → Products → outlet price)"


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Shop:  # noqa: F811
    shop = make_shop(checkout_stack, currency="CHF")
    shop.add_product("lamp", 4990, 10)  # the catalog's currency: EUR
    shop.add_product("vase", 2000, 5)
    settings_url = f"/api/sales/outlets/{shop.outlet['id']}/settings"
    eventually(lambda: shop.manager.get(settings_url).json()["currency"] == "CHF", "sales to take the outlet's currency")
    return shop


def quote(shop: Shop, lines: list[tuple[str, int]]) -> Any:
    body = {"outlet_id": shop.outlet["id"], "lines": [{"product_id": shop.products[k]["id"], "qty": q} for k, q in lines]}
    return shop.cashier.post("/api/sales/quote", json=body)


def test_an_outlet_in_francs_sells_in_francs_at_its_own_shelf_price(shop: Shop) -> None:
    outlet_id, lamp = shop.outlet["id"], shop.products["lamp"]
    settings = shop.manager.get(f"/api/sales/outlets/{outlet_id}/settings").json()
    in_euros = shop.manager.put(f"/api/sales/outlets/{outlet_id}/settings", json={**settings, "currency": "EUR"})
    assert in_euros.status_code == 422 and "the outlet's currency is CHF" in in_euros.json()["detail"]

    # No franc price yet: refused, naming the product and what to do; nothing sold.
    refused = quote(shop, [("lamp", 1)])
    assert refused.status_code == 422
    assert f"{lamp['sku']} ({lamp['name']}, priced in EUR)" in refused.json()["detail"] and FIX in refused.json()["detail"]
    body = shop.sale([("lamp", 1)], [{"kind": "cash", "amount_minor": 6000}])
    not_sold = shop.cashier.post("/api/sales", json=body)
    assert not_sold.status_code == 422 and FIX in not_sold.json()["detail"]
    assert shop.cashier.get(f"/api/sales/{body['id']}/receipt").status_code == 404

    # The manager sets the lamp's price at this outlet: in francs (euros refused).
    url = f"/api/catalog/products/{lamp['id']}/prices/{outlet_id}"
    wrong = shop.manager.put(url, json={"price_minor": 4990, "currency": "EUR"})
    assert wrong.status_code == 422 and "the outlet sells in CHF" in wrong.json()["detail"]
    put = shop.manager.put(url, json={"price_minor": 5290})
    assert put.status_code == 200, put.text
    assert (put.json()["price_minor"], put.json()["currency"]) == (5290, "CHF")
    price = eventually(
        lambda: (
            (p := shop.cashier.get(f"/api/sales/prices/{lamp['id']}", params={"outlet_id": outlet_id}).json())["currency"]
            == "CHF"
            and p
        ),
        "sales to take the franc shelf price",
    )
    assert price["price_minor"] == 5290
    # What the till's replica reads: the outlet's price in francs.
    feed = shop.cashier.get("/api/catalog/changes", params={"outlet_id": outlet_id, "limit": 5000}).json()
    [row] = [p for p in feed["products"] if p["id"] == lamp["id"]]
    assert (row["price_minor"], row["currency"], row["outlet_price"]) == (5290, "CHF", True)

    # Sold in francs: 2 lamps at 52.90 CHF, paid with 110 francs in cash.
    priced = quote(shop, [("lamp", 2)])
    assert priced.status_code == 200, priced.text
    assert (priced.json()["currency"], priced.json()["total_minor"]) == ("CHF", 10580)
    body = shop.sale([("lamp", 2)], [{"kind": "cash", "amount_minor": 11000}])
    sold = shop.cashier.post("/api/sales", json=body)
    assert sold.status_code == 201, sold.text
    receipt = sold.json()
    assert (receipt["currency"], receipt["total_minor"], receipt["lines"][0]["unit_price_minor"]) == ("CHF", 10580, 5290)
    assert receipt["change_minor"] == 11000 - receipt["due_minor"] and abs(receipt["due_minor"] - 10580) < 5
    text = shop.cashier.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}).text
    assert "CHF" in text and "105.80" in text

    # The vase still has no franc price: refused, naming it alone.
    mixed = quote(shop, [("lamp", 1), ("vase", 1)])
    assert mixed.status_code == 422
    detail = mixed.json()["detail"]
    assert shop.products["vase"]["sku"] in detail and lamp["sku"] not in detail and FIX in detail

    # The reports count it under CHF.
    span = {"outlet_id": outlet_id}  # the last 30 days at the outlet

    def in_francs() -> Any:
        totals = shop.manager.get("/api/reports/sales/daily", params=span).json()["totals_by_currency"]
        return totals if [(t["currency"], t["sales_count"]) for t in totals] == [("CHF", 1)] else None

    [totals] = eventually(in_francs, "the reports to count the franc sale")
    assert totals["gross_minor"] == 10580
