"""Issue 15, the services' side of the offline till: a sale made offline is recorded
exactly once, as the till printed it, whatever changed meanwhile; each difference is a
sync exception a manager sees. (The sales app on SQLite, inventory and payments as
in-process fakes: see conftest.)"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_contracts import new_envelope
from pos_contracts.events import StockDeducted, StockLine, UserChanged

from .conftest import OTHER, OUTLET, seed_prices, seed_registers

PRICES = {"mug": (1250, 2000, "Espresso cup <small>"), "tea": (399, 500, "Green tea 100 g")}


def tax_in(total: int, rate_bp: int) -> int:
    """The tax inside a tax-inclusive total, half up (as the till's domain does)."""
    return (total * rate_bp * 2 + (10_000 + rate_bp)) // (2 * (10_000 + rate_bp))


def offline_sale(
    lines: list[tuple[str, int]] | None = None,
    *,
    number: int = 1,
    register_id: str = "till-1",
    register_number: int = 1,
    sold_at: datetime | None = None,
    price: dict[str, int] | None = None,
    tendered: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body_lines = []
    for product, qty in lines or [("mug", 2)]:
        unit, rate, name = PRICES.get(product, (500, 2000, f"Item {product}"))
        unit = (price or {}).get(product, unit)
        total = unit * qty
        body_lines.append(
            {
                "product_id": product,
                "sku": product.upper(),
                "name": name,
                "qty": qty,
                "unit_price_minor": unit,
                "tax_rate_bp": rate,
                "tax_minor": tax_in(total, rate),
                "total_minor": total,
            }
        )
    total = sum(line["total_minor"] for line in body_lines)
    handed = tendered if tendered is not None else total
    return {
        "id": str(uuid.uuid4()),
        "outlet_id": OUTLET,
        "register_id": register_id,
        "receipt_number": f"R{register_number}-OFF{number:06d}",
        "sold_at": (sold_at or datetime.now(UTC) - timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
        "currency": "EUR",
        "lines": body_lines,
        "total_minor": total,
        "tax_minor": sum(line["tax_minor"] for line in body_lines),
        "tenders": [{"kind": "cash", "amount_minor": total, "tendered_minor": handed}],
        "change_minor": handed - total,
        **extra,
    }


def sync(client: TestClient, auth: Any, body: dict[str, Any]) -> Any:
    return client.post("/api/sales/offline", json=body, headers=auth())


def exceptions(client: TestClient, auth: Any, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/sales/sync-exceptions", params={"outlet_id": OUTLET, **params}, headers=auth("manager"))
    assert r.status_code == 200, r.text
    return r.json()


def test_an_offline_sale_is_recorded_as_printed_on_the_day_it_was_sold(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    sold_at = datetime.now(UTC) - timedelta(hours=3)
    body = offline_sale([("mug", 2), ("tea", 1)], sold_at=sold_at, tendered=5000)
    r = sync(client, auth, body)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["offline"] is True and receipt["receipt_number"] == "R1-OFF000001"
    assert receipt["completed_at"] == sold_at.replace(tzinfo=None).isoformat() + "Z"
    assert receipt["received_at"] > receipt["completed_at"]
    assert (receipt["total_minor"], receipt["change_minor"]) == (2899, 5000 - 2899)
    # Nothing reserved (the goods left the shop); the cash recorded by payments once.
    assert fakes.reservations == {}
    assert [(c["payment_id"], c["amount_minor"], c["tenders"][0]["tendered_minor"]) for c in fakes.capture_calls] == [
        (body["id"], 2899, 5000)
    ]
    events = helpers.outbox(client, "SaleCompleted")
    assert len(events) == 1
    assert (events[0]["payload"]["offline"], events[0]["payload"]["completed_at"]) == (True, receipt["completed_at"])
    stored = client.get(f"/api/sales/{body['id']}", headers=auth()).json()
    assert stored["status"] == "COMPLETED" and stored["receipt_number"] == "R1-OFF000001"
    text = client.get(f"/api/sales/{body['id']}/receipt", params={"format": "text"}, headers=auth()).text
    assert "TAKEN OFFLINE" in text and "R1-OFF000001" in text
    assert exceptions(client, auth) == []


def test_a_line_the_till_sent_without_its_category_counts_under_the_catalogues(
    client: TestClient, auth: Any, helpers: Any
) -> None:
    """The till's cart keeps no category: the sale is counted under the product's
    category anyway (the live reports and a rebuild from the history must agree)."""
    body = offline_sale([("mug", 1), ("tea", 1)])
    body["lines"][1]["category_id"] = "tea-shelf"  # what the till sent is kept
    assert sync(client, auth, body).status_code == 201
    [event] = helpers.outbox(client, "SaleCompleted")
    assert [line["category_id"] for line in event["payload"]["lines"]] == ["cups", "tea-shelf"]
    # The feed a rebuild of the reports reads, regenerated from the stored sale.
    history = client.get("/api/sales/history", params={"limit": 50}, headers=auth("admin", []))
    assert history.status_code == 200, history.text
    [again] = [e for e in history.json()["events"] if e["type"] == "SaleCompleted" and e["payload"]["sale_id"] == body["id"]]
    assert [line["category_id"] for line in again["payload"]["lines"]] == ["cups", "tea-shelf"]


def test_the_same_sale_synced_again_or_at_once_is_recorded_once(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    body = offline_sale()
    headers = auth()
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: client.post("/api/sales/offline", json=body, headers=headers), range(6)))
    assert {a.status_code for a in answers} == {201} and len({a.text for a in answers}) == 1
    again = sync(client, auth, body)  # the answer was lost: the till sends it again
    assert (again.status_code, again.json()) == (201, answers[0].json())
    assert len(helpers.outbox(client, "SaleCompleted")) == 1
    assert len({c["payment_id"] for c in fakes.capture_calls}) == 1
    changed = {**body, "change_minor": body["change_minor"], "receipt_number": "R1-OFF000099"}
    assert sync(client, auth, changed).status_code == 409


def test_payments_down_then_back_records_the_sale_once(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    body = offline_sale()
    fakes.mode = "down"
    for _ in range(2):  # the till syncs again later, and again
        r = sync(client, auth, body)
        assert r.status_code == 503 and r.json()["status"] == "PENDING" and "sync it again" in r.json()["detail"]
    fakes.mode = "lost"  # payments records it, but its answer is lost: asked again, it says so
    third = sync(client, auth, body)
    assert third.status_code == 201, third.text
    assert sync(client, auth, body).json() == third.json()
    assert len(helpers.outbox(client, "SaleCompleted")) == 1
    assert fakes.payments[body["id"]]["status"] == "captured"


def test_the_reconciler_finishes_an_offline_sale_and_never_cancels_it(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    body = offline_sale()
    fakes.mode = "down"
    assert sync(client, auth, body).status_code == 503
    assert asyncio.run(client.app.state.checkout.reconcile(body["id"])) is None  # still down: left pending
    fakes.mode = "capture"
    settled = asyncio.run(client.app.state.checkout.reconcile(body["id"]))
    assert settled is not None and settled.status == 201
    assert fakes.payments[body["id"]]["status"] == "captured"
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "COMPLETED"
    assert len(helpers.outbox(client, "SaleCompleted")) == 1


def test_what_changed_meanwhile_never_refuses_the_sale_and_is_listed(client: TestClient, auth: Any, helpers: Any) -> None:
    price_changed = offline_sale([("mug", 1)], price={"mug": 1100}, number=1)
    archived = offline_sale([("gone", 1)], number=2)
    unknown = offline_sale([("ghost", 3)], number=3)
    late = offline_sale(number=4, sold_at=datetime.now(UTC) - timedelta(hours=30))
    for body in (price_changed, archived, unknown, late):
        r = sync(client, auth, body)
        assert r.status_code == 201, r.text
    listed = {(e["receipt_number"], e["kind"]): e for e in exceptions(client, auth)}
    assert set(listed) == {
        ("R1-OFF000001", "price_changed"),
        ("R1-OFF000002", "product_archived"),
        ("R1-OFF000003", "product_unknown"),
        ("R1-OFF000004", "over_offline_limits"),
    }
    assert "sold at 1100, the shelf price is 1250" in listed[("R1-OFF000001", "price_changed")]["detail"]
    assert "allows 24 h offline" in listed[("R1-OFF000004", "over_offline_limits")]["detail"]
    # The customer's price is the one on their receipt.
    assert client.get(f"/api/sales/{price_changed['id']}", headers=auth()).json()["total_minor"] == 1100
    # A manager notes what was done; a cashier does not see the list.
    assert client.get("/api/sales/sync-exceptions", headers=auth()).status_code == 403
    first = listed[("R1-OFF000001", "price_changed")]
    done = client.post(
        f"/api/sales/sync-exceptions/{first['id']}/resolve", json={"note": "price confirmed"}, headers=auth("manager")
    )
    assert done.status_code == 200 and done.json()["note"] == "price confirmed" and done.json()["resolved_by"] == "manager-1"
    assert len(exceptions(client, auth)) == 3 and len(exceptions(client, auth, state="resolved")) == 1
    assert (
        client.post("/api/sales/sync-exceptions/999999/resolve", json={"note": "x"}, headers=auth("manager")).status_code == 404
    )
    assert client.get("/api/sales/sync-exceptions", params={"outlet_id": "outlet-b"}, headers=auth("manager")).status_code == 404


def test_stock_short_on_an_offline_sale_is_listed(client: TestClient, auth: Any, helpers: Any) -> None:
    body = offline_sale([("mug", 3)])
    assert sync(client, auth, body).status_code == 201
    event = StockDeducted(
        sale_id=body["id"],
        outlet_id=OUTLET,
        lines=[StockLine(product_id="mug", qty=3, on_hand_after=-2, oversold=True)],
        parked=[],
    )
    for _ in range(2):  # delivered twice: listed once
        client.app.state.ctx.consumer.handle(new_envelope(event, producer="inventory", outlet_id=OUTLET))
    listed = exceptions(client, auth)
    assert [(e["kind"], e["receipt_number"]) for e in listed] == [("stock_short", "R1-OFF000001")]
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["oversold"] is True


def announce_user(
    client: TestClient, user_id: str, name: str, outlets: list[str], role: str = "cashier", active: bool = True
) -> None:
    event = UserChanged(user_id=user_id, email=f"{user_id}@example.com", name=name, role=role, outlets=outlets, active=active)
    assert client.app.state.ctx.consumer.handle(new_envelope(event, producer="identity", outlet_id=None))


def test_a_sale_synced_under_another_session_keeps_the_cashier_who_sold_it(client: TestClient, auth: Any, helpers: Any) -> None:
    # Sam sold offline; the till synced under cashier-1's session (a second tab). Sam
    # has been deactivated since: they still sold it.
    announce_user(client, "cashier-2", "Sam Till", [OUTLET], active=False)
    body = offline_sale(cashier_id="cashier-2")
    r = sync(client, auth, body)
    assert r.status_code == 201, r.text
    assert (r.json()["cashier_id"], r.json()["cashier_name"]) == ("cashier-2", "Sam Till")
    assert sync(client, auth, body).json() == r.json()  # the same sale when sent again
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["cashier_id"] == "cashier-2"
    [event] = helpers.outbox(client, "SaleCompleted")
    assert event["payload"]["cashier_id"] == "cashier-2"
    assert exceptions(client, auth) == []


@pytest.mark.parametrize(
    ("named", "why"),
    [("cashier-elsewhere", "is not a user of this outlet"), ("made-up-user", "is not a user identity has announced")],
)
def test_a_cashier_sales_cannot_vouch_for_is_listed_and_the_sale_kept(
    client: TestClient, auth: Any, named: str, why: str
) -> None:
    announce_user(client, "cashier-elsewhere", "Kim Other", ["outlet-b"])
    body = offline_sale(cashier_id=named)
    r = sync(client, auth, body)
    assert r.status_code == 201, r.text
    assert (r.json()["cashier_id"], r.json()["cashier_name"]) == ("cashier-1", "A cashier")
    [listed] = exceptions(client, auth)
    assert (
        listed["kind"] == "cashier_unknown"
        and named in listed["detail"]
        and why in listed["detail"]
        and "A cashier" in listed["detail"]
    )


def test_a_shift_closed_before_the_sync_keeps_the_sale_and_lists_it(client: TestClient, auth: Any) -> None:
    shift_id = str(uuid.uuid4())
    opened = client.post(
        "/api/sales/shifts",
        json={"id": shift_id, "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 1000},
        headers=auth(),
    )
    assert opened.status_code == 201, opened.text
    closed = client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 3500}, headers=auth())
    assert closed.status_code == 200, closed.text
    body = offline_sale(shift_id=shift_id)
    r = sync(client, auth, body)
    assert r.status_code == 201 and r.json()["shift_id"] == shift_id
    listed = exceptions(client, auth)
    assert [e["kind"] for e in listed] == ["shift_closed"] and "not in that Z-report" in listed[0]["detail"]


def test_a_receipt_number_printed_twice_is_kept_and_listed(client: TestClient, auth: Any) -> None:
    first, second = offline_sale(number=7), offline_sale(number=7)
    assert sync(client, auth, first).status_code == 201
    assert sync(client, auth, second).status_code == 201
    assert [e["kind"] for e in exceptions(client, auth)] == ["receipt_number_reused"]


def test_a_till_clock_ahead_is_counted_when_the_sale_arrived(client: TestClient, auth: Any) -> None:
    body = offline_sale(sold_at=datetime.now(UTC) + timedelta(hours=2))
    r = sync(client, auth, body)
    assert r.status_code == 201
    assert r.json()["completed_at"] <= r.json()["received_at"]
    assert [e["kind"] for e in exceptions(client, auth)] == ["clock_ahead"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(total_minor=b["total_minor"] - 1), "sum of the lines"),
        (lambda b: b["lines"][0].update(total_minor=1), "price x qty"),
        (lambda b: b.update(change_minor=b["change_minor"] + 5), "change_minor"),
        (lambda b: b["tenders"][0].update(kind="card"), "reader_ref"),
        (lambda b: b.update(receipt_number="R1-000001"), "string_pattern_mismatch"),
        (lambda b: b.update(sold_at="yesterday"), "datetime"),
    ],
    ids=["total", "line", "change", "card", "online-style number", "time"],
)
def test_a_receipt_that_does_not_add_up_is_refused_with_the_reason(
    client: TestClient, auth: Any, fakes: Any, change: Any, message: str
) -> None:
    body = offline_sale()
    change(body)
    r = sync(client, auth, body)
    assert r.status_code == 422 and message in r.text
    assert fakes.capture_calls == []


def test_another_outlets_register_or_number_is_refused(client: TestClient, auth: Any) -> None:
    theirs = sync(client, auth, offline_sale(register_id="till-b1"))
    assert theirs.status_code == 422 and "is not a register of outlet" in theirs.json()["detail"]
    wrong = sync(client, auth, offline_sale(register_id="till-2", register_number=1))
    assert wrong.status_code == 422 and "is not register 2's" in wrong.json()["detail"]
    # A register deactivated since still syncs what it sold.
    assert sync(client, auth, offline_sale(register_id="till-off", register_number=10)).status_code == 201
    assert sync(client, auth, {**offline_sale(), "outlet_id": "outlet-b"}).status_code == 404


def test_a_sale_tried_online_first_is_recorded_once_whatever_that_attempt_became(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    """The link dropped mid-sale: the till takes the same sale (same id) offline. The
    online attempt completed: that is the sale. It failed (nothing charged): the offline
    one replaces it. Still being settled: sync again later."""
    completed = helpers.sale([("mug", 2)], [{"kind": "cash", "amount_minor": 2500}])
    assert client.post("/api/sales", json=completed, headers=auth()).status_code == 201
    again = sync(client, auth, {**offline_sale([("mug", 2)]), "id": completed["id"]})
    assert again.status_code == 200 and again.json()["recorded"] == "online" and not again.json().get("offline")
    assert again.json()["sale_id"] == completed["id"]

    failed = helpers.sale([("mug", 1)], [{"kind": "cash", "amount_minor": 1250}])
    fakes.mode = "unreachable"  # the link dropped: nothing reserved or charged
    assert client.post("/api/sales", json=failed, headers=auth()).status_code == 503
    pending = helpers.sale([("tea", 1)], [{"kind": "card", "amount_minor": 399}])
    fakes.mode, fakes.reconcile_mode = "lost", "down"
    assert client.post("/api/sales", json=pending, headers=auth()).status_code == 503
    fakes.mode, fakes.reconcile_mode = "capture", "answer"

    replaced = sync(client, auth, {**offline_sale([("mug", 1)], number=2), "id": failed["id"]})
    assert (
        replaced.status_code == 201 and replaced.json()["offline"] is True and replaced.json()["receipt_number"] == "R1-OFF000002"
    )
    waiting = sync(client, auth, {**offline_sale([("tea", 1)], number=3), "id": pending["id"]})
    assert waiting.status_code == 503 and "still being settled" in waiting.json()["detail"]
    assert asyncio.run(client.app.state.checkout.reconcile(pending["id"])).status == 201
    settled = sync(client, auth, {**offline_sale([("tea", 1)], number=3), "id": pending["id"]})
    assert settled.status_code == 200 and settled.json()["recorded"] == "online"
    completed_ids = [e["payload"]["sale_id"] for e in helpers.outbox(client, "SaleCompleted")]
    assert sorted(completed_ids) == sorted([completed["id"], failed["id"], pending["id"]])


def test_each_exception_comes_with_its_sale_and_what_was_found_in_figures(client: TestClient, auth: Any) -> None:
    """What the back office shows: when it was sold and synced, the register by name,
    the sale's currency and total, and the findings as numbers (never parsed from words)."""
    sold_at = datetime.now(UTC) - timedelta(hours=30)
    body = offline_sale([("mug", 2), ("tea", 1)], price={"mug": 1100}, sold_at=sold_at, register_id="till-3", register_number=3)
    assert sync(client, auth, body).status_code == 201
    listed = {e["kind"]: e for e in exceptions(client, auth)}
    assert set(listed) == {"price_changed", "over_offline_limits"}
    price = listed["price_changed"]
    assert (price["sold_at"], price["currency"], price["total_minor"]) == (
        sold_at.replace(tzinfo=None).isoformat() + "Z",
        "EUR",
        2 * 1100 + 399,
    )
    assert price["synced_at"] >= price["sold_at"] and price["created_at"] >= price["synced_at"]
    assert (price["register_id"], price["register_name"], price["register_number"]) == ("till-3", "Till 3", 3)
    assert price["facts"] == [
        {
            "line": 1,
            "product_id": "mug",
            "sku": "MUG",
            "name": "Espresso cup <small>",
            "qty": 2,
            "sold_minor": 1100,
            "shelf_minor": 1250,
        }
    ]
    [late] = listed["over_offline_limits"]["facts"]
    assert (late["limit"], late["allowed_hours"]) == ("hours", 24) and 29.9 <= late["hours"] <= 30.1


def test_stock_short_names_the_product_and_what_is_left(client: TestClient, auth: Any) -> None:
    body = offline_sale([("mug", 3), ("tea", 1)])
    assert sync(client, auth, body).status_code == 201
    event = StockDeducted(
        sale_id=body["id"],
        outlet_id=OUTLET,
        lines=[
            StockLine(product_id="mug", qty=3, on_hand_after=-2, oversold=True),
            StockLine(product_id="tea", qty=1, on_hand_after=4),
        ],
        parked=[],
    )
    client.app.state.ctx.consumer.handle(new_envelope(event, producer="inventory", outlet_id=OUTLET))
    [short] = exceptions(client, auth)
    assert short["facts"] == [{"product_id": "mug", "name": "Espresso cup <small>", "qty": 3, "on_hand_after": -2}]
    assert "count the shelf" in short["detail"] and "Espresso cup" in short["detail"]


def test_the_other_kinds_carry_their_figures(client: TestClient, auth: Any) -> None:
    shift_id = str(uuid.uuid4())
    opened = client.post(
        "/api/sales/shifts",
        json={"id": shift_id, "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 1000},
        headers=auth(),
    )
    assert opened.status_code == 201, opened.text
    assert (
        client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 1000}, headers=auth()).status_code == 200
    )
    closed = offline_sale(number=1, shift_id=shift_id)
    first, second = offline_sale(number=2), offline_sale(number=2)
    ahead = offline_sale(number=3, sold_at=datetime.now(UTC) + timedelta(hours=1))
    for body in (closed, first, second, ahead):
        assert sync(client, auth, body).status_code == 201
    listed = {e["kind"]: e for e in exceptions(client, auth)}
    [shift] = listed["shift_closed"]["facts"]
    assert (shift["shift_id"], shift["cash_minor"]) == (shift_id, closed["total_minor"]) and shift["closed_at"].endswith("Z")
    assert listed["receipt_number_reused"]["facts"] == [{"other_sale_ids": [first["id"]]}]
    assert listed["receipt_number_reused"]["sale_id"] == second["id"]
    [clock] = listed["clock_ahead"]["facts"]
    assert 3500 <= clock["seconds_ahead"] <= 3600 and clock["till_time"].endswith("Z")


def test_the_open_count_follows_the_list_and_the_callers_outlets(client: TestClient, auth: Any) -> None:
    def count(**params: Any) -> Any:
        return client.get("/api/sales/sync-exceptions/count", params=params, headers=auth("manager"))

    assert count().json() == {"open": 0}
    for n in (1, 2, 3):
        assert sync(client, auth, offline_sale([("mug", 1)], price={"mug": 1000 + n}, number=n)).status_code == 201
    assert count().json() == {"open": 3} and count(outlet_id=OUTLET).json() == {"open": 3}
    assert count(outlet_id=OTHER).status_code == 404  # not this manager's outlet
    assert client.get("/api/sales/sync-exceptions/count", headers=auth()).status_code == 403  # cashiers do not see them
    admin = client.get("/api/sales/sync-exceptions/count", params={"outlet_id": OTHER}, headers=auth("admin", []))
    assert admin.json() == {"open": 0}
    first = exceptions(client, auth)[0]
    client.post(f"/api/sales/sync-exceptions/{first['id']}/resolve", json={"note": "price confirmed"}, headers=auth("manager"))
    assert count().json() == {"open": 2}


def test_resolving_keeps_who_and_what_once_and_needs_words(client: TestClient, auth: Any) -> None:
    assert sync(client, auth, offline_sale([("mug", 1)], price={"mug": 999})).status_code == 201
    [open_one] = exceptions(client, auth)
    url = f"/api/sales/sync-exceptions/{open_one['id']}/resolve"
    assert client.post(url, json={"note": "   "}, headers=auth("manager")).status_code == 422
    done = client.post(url, json={"note": "  shelf label was wrong, fixed  "}, headers=auth("manager"))
    assert done.status_code == 200, done.text
    resolved = done.json()
    assert (resolved["note"], resolved["resolved_by"], resolved["resolved_by_name"]) == (
        "shelf label was wrong, fixed",
        "manager-1",
        "A manager",
    )
    assert resolved["register_name"] == "Till 1" and resolved["facts"][0]["shelf_minor"] == 1250
    again = client.post(url, json={"note": "something else"}, headers=auth("manager"))
    assert again.json()["note"] == "shelf label was wrong, fixed" and again.json()["resolved_at"] == resolved["resolved_at"]
    assert exceptions(client, auth) == [] and exceptions(client, auth, state="resolved") == [resolved]


def test_pages_oldest_or_newest_first(client: TestClient, auth: Any) -> None:
    for n in range(1, 6):
        assert sync(client, auth, offline_sale([("mug", 1)], price={"mug": 1000 + n}, number=n)).status_code == 201
    oldest = [e["receipt_number"] for e in exceptions(client, auth, limit=2)]
    assert oldest == ["R1-OFF000001", "R1-OFF000002"]
    newest = exceptions(client, auth, order="newest", limit=2)
    assert [e["receipt_number"] for e in newest] == ["R1-OFF000005", "R1-OFF000004"]
    rest = exceptions(client, auth, order="newest", after=newest[-1]["id"])
    assert [e["receipt_number"] for e in rest] == ["R1-OFF000003", "R1-OFF000002", "R1-OFF000001"]


def test_offline_syncs_take_turns_and_one_without_a_turn_is_told_when_to_come_back(
    make_client: Any, auth: Any, helpers: Any, fakes: Any
) -> None:
    """Ten tills back online at once must not crowd out the tills selling now: offline
    syncs are recorded one at a time per process; one that waits past its limit is
    answered 429 with Retry-After (the till keeps it and sends it again then), and is
    recorded once when it comes back."""
    fakes.capture_delay = 0.6  # each sync holds its turn while payments records the cash
    with make_client(offline_sync_slots=1, offline_sync_wait_seconds=0.2, offline_sync_retry_after_seconds=7) as c:
        seed_prices(c.app)
        seed_registers(c.app)
        bodies = [offline_sale(number=n) for n in (1, 2)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda b: c.post("/api/sales/offline", json=b, headers=auth()), bodies))
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 429], [a.text for a in answers]
        busy = next(a for a in answers if a.status_code == 429)
        assert busy.headers["Retry-After"] == "7"
        assert "kept in the till and sent again" in busy.json()["detail"]
        fakes.capture_delay = 0.0
        turned_away = bodies[answers.index(busy)]
        again = c.post("/api/sales/offline", json=turned_away, headers=auth())
        assert again.status_code == 201, again.text
        assert len(helpers.outbox(c, "SaleCompleted")) == 2


# --- deferred card capture (ADR 0073) -------------------------------------------------------


def allow_offline_card(client: TestClient, auth: Any, **limits: Any) -> None:
    url = f"/api/sales/outlets/{OUTLET}/settings"
    now = client.get(url, headers=auth()).json()
    changed = {
        **now,
        "card_reader_url": "http://192.168.1.50:8443/nexo",
        "offline_card_allowed": True,
        "offline_card_max_sale_minor": 5000,
        "offline_card_max_device_minor": 20000,
        **limits,
    }
    r = client.put(url, json=changed, headers=auth("manager"))
    assert r.status_code == 200, r.text


def card_sale(ref: str = "saf_0123456789", **kwargs: Any) -> dict[str, Any]:
    body = offline_sale(**kwargs)
    body["tenders"] = [
        {"kind": "card", "amount_minor": body["total_minor"], "tendered_minor": body["total_minor"], "reader_ref": ref}
    ]
    body["change_minor"] = 0
    return body


def test_a_card_taken_offline_on_the_reader_is_captured_at_the_sync(client: TestClient, auth: Any, fakes: Any) -> None:
    allow_offline_card(client, auth)
    body = card_sale()
    r = sync(client, auth, body)
    assert r.status_code == 201, r.text
    assert r.json()["tenders"] == [
        {"kind": "card", "amount_minor": 2500, "tendered_minor": 2500, "reader_ref": "saf_0123456789", "capture": "deferred"}
    ]
    assert [c["tenders"] for c in fakes.capture_calls] == [
        [{"kind": "card", "amount_minor": 2500, "reader_ref": "saf_0123456789"}]
    ]
    assert exceptions(client, auth) == []


def test_a_card_declined_at_capture_keeps_the_sale_and_lists_what_is_owed(
    client: TestClient, auth: Any, fakes: Any, helpers: Any
) -> None:
    allow_offline_card(client, auth)
    fakes.mode = "decline"
    body = card_sale()
    first = sync(client, auth, body)
    assert first.status_code == 201, first.text
    assert first.json()["card_declined_after_sale"] == {"owed_minor": 2500, "decline_code": "generic_decline"}
    again = sync(client, auth, body)  # the answer was lost: the same sale, once
    assert (again.status_code, again.json()) == (201, first.json())
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "COMPLETED"
    assert len(helpers.outbox(client, "SaleCompleted")) == 1
    [found] = exceptions(client, auth)
    assert found["kind"] == "card_declined_after_sale"
    assert found["facts"] == [{"owed_minor": 2500, "decline_code": "generic_decline", "reader_refs": ["saf_0123456789"]}]


def test_a_card_synced_where_the_outlet_does_not_allow_it_is_kept_and_listed(client: TestClient, auth: Any) -> None:
    r = sync(client, auth, card_sale())
    assert r.status_code == 201, r.text
    [found] = exceptions(client, auth)
    assert (found["kind"], found["facts"]) == ("over_offline_limits", [{"limit": "card", "card_minor": 2500}])


def test_a_card_above_the_outlets_card_limit_is_kept_and_listed(client: TestClient, auth: Any) -> None:
    allow_offline_card(client, auth, offline_card_max_sale_minor=2000)
    assert sync(client, auth, card_sale()).status_code == 201
    [found] = exceptions(client, auth)
    assert found["facts"] == [{"limit": "card_sale", "card_minor": 2500, "allowed_minor": 2000}]


def test_an_offline_card_needs_the_readers_reference(client: TestClient, auth: Any) -> None:
    body = card_sale()
    del body["tenders"][0]["reader_ref"]
    r = sync(client, auth, body)
    assert r.status_code == 422
    assert "reader_ref" in r.text


def test_deferred_card_capture_needs_a_reader_and_both_limits(client: TestClient, auth: Any) -> None:
    url = f"/api/sales/outlets/{OUTLET}/settings"
    now = client.get(url, headers=auth()).json()
    assert (now["offline_card_allowed"], now["offline_card_max_sale_minor"], now["offline_card_max_device_minor"]) == (
        False,
        0,
        0,
    )
    no_reader = client.put(url, json={**now, "offline_card_allowed": True}, headers=auth("manager"))
    assert no_reader.status_code == 422 and "card_reader_url" in no_reader.text
    no_limit = client.put(
        url, json={**now, "offline_card_allowed": True, "card_reader_url": "http://10.0.0.9:8443/nexo"}, headers=auth("manager")
    )
    assert no_limit.status_code == 422 and "both limits" in no_limit.text
