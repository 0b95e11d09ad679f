"""Foreign cash on the local stack through the gateway (issue 16, ADR 0061): the rates
sandbox (its own process, the ECB's document) serves the rates, payments caches them,
a manager lists the currencies the outlet takes, and a sale paid in US dollars is
settled at the rate the server stamps, change in euros, stored with the rate in sales
and payments (and in payments' PaymentCaptured, as in sales' SaleCompleted), printed on
the receipt, and refunded in euros. A currency whose rate is
stale (and no manual rate) is refused with the reason, and nothing is written."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, eventually, make_shop  # noqa: F401 (fixture)
from tests.e2e.test_offline_sync import offline_sale
from tests.stack_fixture import Stack, stack_args

pytestmark = pytest.mark.e2e


def rates_sandbox() -> str:
    """The stack's rates sandbox (scripts/stack.py: port base + 32, unless the
    environment names another)."""
    url = os.environ.get("POS_RATES_SANDBOX_URL")
    if url:
        return url.split("/stats/", 1)[0]
    args = stack_args()
    return f"http://127.0.0.1:{int(args[args.index('--port-base') + 1]) + 32}"


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Any:  # noqa: F811
    shop = make_shop(checkout_stack)
    shop.add_product("scarf", 2500, 20)
    settings = shop.manager.get(f"/api/sales/outlets/{shop.outlet['id']}/settings").raise_for_status().json()
    refused = shop.manager.put(
        f"/api/sales/outlets/{shop.outlet['id']}/settings", json={**settings, "accepted_currencies": ["USD", "EUX"]}
    )
    assert refused.status_code == 422 and "EUX is not an ISO 4217 currency code" in refused.text
    saved = shop.manager.put(
        f"/api/sales/outlets/{shop.outlet['id']}/settings", json={**settings, "accepted_currencies": ["USD", "AED"]}
    )
    assert saved.status_code == 200, saved.text
    yield shop
    httpx.post(f"{rates_sandbox()}/sandbox/reset", timeout=10)


def serve_rates(shop: Shop, rates: dict[str, str], days_old: int = 0) -> None:
    day = (datetime.now(UTC).date() - timedelta(days=days_old)).isoformat()
    httpx.put(f"{rates_sandbox()}/sandbox/rates", json={"date": day, "rates": rates}, timeout=10).raise_for_status()
    refreshed = shop.manager.post("/api/payments/rates/refresh")
    assert refreshed.status_code == 200, refreshed.text


def published(shop: Shop, service: str, type_: str, sale_id: str) -> dict[str, Any]:
    """The payload of the `type_` event of a sale in `service`'s event feed (GET
    /api/<service>/events, what the consumers were sent), newest pages last."""
    after: int | None = 0
    while after is not None:
        page = shop.admin.get(f"/api/{service}/events", params={"after": after, "limit": 5000}).raise_for_status().json()
        for event in page["events"]:
            if event["type"] == type_ and event["payload"]["sale_id"] == sale_id:
                return event["payload"]
        after = page["next_after"]
    raise AssertionError(f"no {type_} of sale {sale_id} in {service}'s feed")


FOREIGN_FIELDS = ("kind", "amount_minor", "currency", "foreign_minor", "rate", "rate_source", "rate_as_of", "change_minor")


def foreign_tenders(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: t.get(k) for k in FOREIGN_FIELDS} for t in event["tenders"] if t["kind"] == "foreign_cash"]


def test_a_sale_paid_in_dollars_at_the_stamped_rate_with_change_in_euros_then_refunded_in_euros(shop: Shop) -> None:
    serve_rates(shop, {"USD": "1.0812", "GBP": "0.8513"})
    shown = shop.cashier.get("/api/payments/rates/EUR/USD").json()
    assert (shown["rate"], shown["source"], shown["usable"]) == ("1.0812", "sandbox", True)
    stock_before = shop.level("scarf")["on_hand"]

    # 2 scarves: 50.00 EUR = 54.06 USD at 1.0812; three 20-dollar notes: 5.94 USD over =
    # 5.4939 EUR -> 5.49 EUR change.
    body = shop.sale([("scarf", 2)], [{"kind": "foreign_cash", "currency": "USD", "amount_minor": 6000, "quoted_rate": "1.0812"}])
    sold = shop.cashier.post("/api/sales", json=body)
    assert sold.status_code == 201, sold.text
    receipt = sold.json()
    (tender,) = receipt["tenders"]
    assert (receipt["total_minor"], receipt["change_minor"]) == (5000, 549)
    assert (tender["currency"], tender["foreign_minor"], tender["due_foreign_minor"], tender["rate"], tender["rate_source"]) == (
        "USD",
        6000,
        5406,
        "1.0812",
        "sandbox",
    )
    assert tender["rate_as_of"] == datetime.now(UTC).date().isoformat()
    eventually(lambda: shop.ledger(body["id"]), "the sale's deduction")
    assert shop.level("scarf")["on_hand"] == stock_before - 2

    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert payment["status"] == "captured" and payment["change_minor"] == 549
    assert [
        (t["kind"], t["amount_minor"], t["currency"], t["foreign_minor"], t["rate"], t["rate_source"]) for t in payment["tenders"]
    ] == [("foreign_cash", 5000, "USD", 6000, "1.0812", "sandbox")]
    # Payments' PaymentCaptured carries the dollars as sales' SaleCompleted does.
    captured = published(shop, "payments", "PaymentCaptured", body["id"])
    assert foreign_tenders(captured) == [
        {"kind": "foreign_cash", "amount_minor": 5000, "currency": "USD", "foreign_minor": 6000, "rate": "1.0812",
         "rate_source": "sandbox", "rate_as_of": tender["rate_as_of"], "change_minor": 549}
    ]  # fmt: skip
    assert foreign_tenders(captured) == foreign_tenders(published(shop, "sales", "SaleCompleted", body["id"]))
    text = shop.cashier.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}).text
    assert "60.00 USD" in text and "1 EUR = 1.0812 USD" in text and "5.49" in text

    # The rate moves; the refund of one scarf is 25.00 EUR in cash, the sale's amount.
    serve_rates(shop, {"USD": "1.2000", "GBP": "0.8513"})
    refund = shop.cashier.post(
        f"/api/sales/{body['id']}/refunds",
        json={"id": str(uuid.uuid4()), "reason": "returned", "lines": [{"line_no": 1, "qty": 1}]},
        headers={"X-Approval-Token": shop.approval("refund", body["id"])},
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["tenders"] == [{"kind": "cash", "amount_minor": 2500}]
    refunds = shop.cashier.get(f"/api/payments/refunds/{refund.json()['refund_id']}").json()
    assert (refunds["currency"], refunds["amount_minor"], refunds["status"]) == ("EUR", 2500, "refunded")


def test_part_dollars_part_card(shop: Shop) -> None:
    serve_rates(shop, {"USD": "1.0812"})
    # 20.00 USD is worth 18.4979 EUR, credited 18.49; the card pays 6.51 of 25.00.
    body = shop.sale(
        [("scarf", 1)],
        [
            {"kind": "foreign_cash", "currency": "USD", "amount_minor": 2000},
            {"kind": "card", "amount_minor": 651, "card_token": "pm_card_visa"},
        ],
    )
    sold = shop.cashier.post("/api/sales", json=body)
    assert sold.status_code == 201, sold.text
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert sorted((t["kind"], t["amount_minor"]) for t in payment["tenders"]) == [("card", 651), ("foreign_cash", 1849)]


def test_a_stale_rate_is_refused_with_the_reason_and_nothing_is_written(shop: Shop) -> None:
    # The dirham's only rate is six days old; no manager has set one.
    serve_rates(shop, {"AED": "3.9700"}, days_old=6)
    shown = shop.cashier.get("/api/payments/rates/EUR/AED").json()
    assert (shown["stale"], shown["usable"]) == (True, False)
    stock_before = shop.level("scarf")["on_hand"]
    body = shop.sale([("scarf", 1)], [{"kind": "foreign_cash", "currency": "AED", "amount_minor": 10000}])
    refused = shop.cashier.post("/api/sales", json=body)
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "6 days old (stale after 3)" in detail and "no manager has set a manual rate" in detail and "AED" in detail
    assert shop.cashier.get(f"/api/sales/{body['id']}").status_code == 404
    assert shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json() == []
    assert shop.ledger(body["id"]) == []
    assert shop.level("scarf")["on_hand"] == stock_before
    # A currency the outlet does not take is refused too, naming those it does.
    gbp = shop.cashier.post(
        "/api/sales", json=shop.sale([("scarf", 1)], [{"kind": "foreign_cash", "currency": "GBP", "amount_minor": 3000}])
    )
    assert gbp.status_code == 422 and "does not take GBP cash (it takes USD, AED)" in gbp.json()["detail"]


def test_a_failing_rates_source_leaves_the_cached_rate_in_use(shop: Shop) -> None:
    """The sandbox answering 503 to every fetch: the refresh fails (503, with the reason),
    the cached rate stays fresh and a dollar sale is still taken at it."""
    serve_rates(shop, {"USD": "1.0812"})
    httpx.put(
        f"{rates_sandbox()}/sandbox/failure", json={"mode": "error", "status": 503, "times": None}, timeout=10
    ).raise_for_status()
    try:
        failed = shop.manager.post("/api/payments/rates/refresh")
        assert failed.status_code == 503 and "stay in use" in failed.json()["detail"], failed.text
        body = shop.sale([("scarf", 1)], [{"kind": "foreign_cash", "currency": "USD", "amount_minor": 3000}])
        sold = shop.cashier.post("/api/sales", json=body)
        assert sold.status_code == 201, sold.text
        (tender,) = sold.json()["tenders"]
        assert (tender["rate"], tender["rate_source"], tender["due_foreign_minor"], sold.json()["change_minor"]) == (
            "1.0812",
            "sandbox",
            2703,
            275,
        )
    finally:
        httpx.put(f"{rates_sandbox()}/sandbox/failure", json={"mode": "ok"}, timeout=10)


def test_reports_list_the_dollars_taken_and_the_outlets_zone_comes_from_identity(shop: Shop) -> None:
    """ADR 0072 on the stack (MariaDB, RabbitMQ, nginx): the dollar tenders of the sales
    above reach the reports with the amount handed over in dollars and its worth in
    euros, JSON and CSV; an outlet's time zone changed in identity reaches sales (the tax
    dates) and reports (local days) through OutletChanged."""
    outlet_id = shop.outlet["id"]
    today = datetime.now(UTC).date()
    span = {
        "outlet_id": outlet_id,
        "date_from": (today - timedelta(days=2)).isoformat(),
        "date_to": (today + timedelta(days=2)).isoformat(),
    }

    # What sales recorded for the outlet's dollar tenders (this module's sales).
    sales = (
        shop.manager.get("/api/sales", params={"outlet_id": outlet_id, "status": "COMPLETED", "limit": 100})
        .raise_for_status()
        .json()["items"]
    )
    recorded = [
        t
        for sale in sales
        for t in shop.manager.get(f"/api/sales/{sale['id']}").raise_for_status().json()["tenders"]
        if t.get("currency") == "USD"
    ]
    assert len(recorded) >= 2
    want = (
        "foreign_cash", "EUR", len(recorded), sum(t["foreign_minor"] for t in recorded),
        sum(t["amount_minor"] for t in recorded), sum(t["change_minor"] or 0 for t in recorded),
    )  # fmt: skip

    def dollars() -> Any:
        rows = shop.manager.get("/api/reports/sales/tender-currencies", params=span).raise_for_status().json()["rows"]
        usd = [
            (r["kind"], r["currency"], r["count"], r["taken_minor"], r["amount_minor"], r["change_minor"])
            for r in rows
            if r["tender_currency"] == "USD"
        ]
        return usd == [want]

    eventually(dollars, f"the reports to list the dollar tenders sales recorded: {want}", timeout=60)
    taken = f"{want[3] // 100}.{want[3] % 100:02d}"
    csv_text = shop.manager.get("/api/reports/sales/tender-currencies", params={**span, "format": "csv"}).text
    assert f",foreign_cash,USD,{want[2]},{taken},EUR," in csv_text

    before = next(o for o in shop.admin.get("/api/identity/outlets").raise_for_status().json() if o["id"] == outlet_id)
    moved = shop.admin.patch(f"/api/identity/outlets/{outlet_id}", json={"timezone": "Asia/Tokyo"})
    assert moved.status_code == 200, moved.text
    view = eventually(
        lambda: (v := shop.manager.get(f"/api/sales/outlets/{outlet_id}/tax-rates").json())["timezone"] == "Asia/Tokyo" and v,
        "sales to take the outlet's new time zone",
    )
    assert view["timezone_from_identity"] is True
    eventually(
        lambda: (
            [r["timezone"] for r in shop.manager.get("/api/reports/sales/outlets", params=span).json()["rows"]] == ["Asia/Tokyo"]
        ),
        "reports to take the outlet's new time zone",
    )
    # Back as it was: the reports' days of the sales made before the move stay those of
    # the zone they were made in, and a rebuild (test_reports_rebuild, later on this
    # stack) days every sale by the outlet's zone of now (a known limit, ADR 0072).
    shop.admin.patch(f"/api/identity/outlets/{outlet_id}", json={"timezone": before["timezone"]}).raise_for_status()
    eventually(
        lambda: (
            [r["timezone"] for r in shop.manager.get("/api/reports/sales/outlets", params=span).json()["rows"]]
            == [before["timezone"]]
        ),
        "reports to take the outlet's zone back",
    )


def test_dollars_taken_offline_at_a_stale_cached_rate_are_recorded_at_it_and_listed(shop: Shop) -> None:
    """Issue 16 offline: a till took 30 USD for a scarf at the rate it had cached, six
    days old when it sold; the sync records the sale and the payment at that rate, and
    a manager finds it listed as a stale rate."""
    register = shop.add_register("offline-fx")
    probe = {"outlet_id": shop.outlet["id"], "register_id": register["id"], "lines": [{"product_id": shop.products["scarf"]["id"], "qty": 1}]}  # fmt: skip
    eventually(
        lambda: shop.cashier.post("/api/sales/quote", json=probe).status_code == 200, "sales to know the register", timeout=60
    )
    sold_at = datetime.now(UTC) - timedelta(minutes=5)
    as_of = (sold_at - timedelta(days=6)).date().isoformat()
    body = offline_sale(shop, register, 1, sold_at, "scarf", 2500)
    # 25.00 EUR = 26.25 USD at 1.0500; 30.00 USD handed over: 3.75 USD over = 3.57 EUR change.
    body["tenders"] = [
        {"kind": "foreign_cash", "amount_minor": 2500, "tendered_minor": 2857, "currency": "USD", "foreign_minor": 3000,
         "rate": "1.0500", "rate_source": "ecb", "rate_as_of": as_of}
    ]  # fmt: skip
    body["change_minor"] = 357
    synced = shop.cashier.post("/api/sales/offline", json=body)
    assert synced.status_code == 201, synced.text
    assert shop.cashier.post("/api/sales/offline", json=body).json() == synced.json()
    (tender,) = synced.json()["tenders"]
    assert (tender["due_foreign_minor"], tender["change_minor"], tender["rate"]) == (2625, 357, "1.0500")
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert [(t["kind"], t["foreign_minor"], t["rate"], t["rate_source"], t["rate_as_of"]) for t in payment["tenders"]] == [
        ("foreign_cash", 3000, "1.0500", "ecb", as_of)
    ]
    # PaymentCaptured: the till's rate and figures, and when the money was taken.
    captured = published(shop, "payments", "PaymentCaptured", body["id"])
    assert foreign_tenders(captured) == [
        {"kind": "foreign_cash", "amount_minor": 2500, "currency": "USD", "foreign_minor": 3000, "rate": "1.0500",
         "rate_source": "ecb", "rate_as_of": as_of, "change_minor": 357}
    ]  # fmt: skip
    taken_at = datetime.fromisoformat(captured["taken_at"].replace("Z", "+00:00"))
    assert abs(taken_at - sold_at) < timedelta(seconds=1), (captured["taken_at"], sold_at)
    listed = shop.manager.get("/api/sales/sync-exceptions", params={"outlet_id": shop.outlet["id"]}).json()
    [stale] = [e for e in listed if e["sale_id"] == body["id"]]
    assert stale["kind"] == "foreign_cash_stale_rate" and stale["facts"][0]["age_days"] == 6
