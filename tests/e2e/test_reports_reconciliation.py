"""Reports reconcile with sales, to the cent, on the local stack through the gateway.

A random workload (seed printed; POS_TEST_SEED repeats it) at three new outlets in
three timezones: sales by two cashiers on registers with open shifts, cash, card and
split tenders, line and cart discounts, then partial and full refunds (on a register),
then the shifts closed.
Each feature is used when the stack offers it (card, discounts, refunds and shifts
arrive with issue 4): a refusal that says the feature is missing turns it off, any
other failure fails the test.

Then, from the sales service's own API (the list of completed sales, each sale and its
refunds), every figure is recomputed and compared with every report: by day, hour,
product, category, cashier, register, tender, outlet (discounts and refunds included,
per register too), the shift (Z) summaries, and their CSV downloads; the stock valuation is checked against inventory's levels.
"""

from __future__ import annotations

import csv
import io
import os
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest

from tests.polling import eventually
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e

ZONES = ("UTC", "Europe/Paris", "America/New_York")
SALES = int(os.environ.get("POS_TEST_RECONCILE_SALES", "72"))


def ok(response: httpx.Response, *expected: int) -> dict[str, Any]:
    assert response.status_code in (expected or (200, 201)), (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
    )
    return response.json()


def missing_feature(response: httpx.Response) -> bool:
    """The stack does not offer this yet (as opposed to refusing this request)."""
    if response.status_code in (404, 405, 501):
        return True
    text = response.text.lower()
    return response.status_code in (400, 402, 422, 503) and (
        "not available" in text or "extra_forbidden" in text or "extra inputs" in text
    )


class Shop:
    def __init__(self, stack: Stack, admin: httpx.Client, rng: random.Random) -> None:
        self.stack, self.admin, self.rng = stack, admin, rng
        suffix = uuid.uuid4().hex[:8]
        self.outlets = [
            ok(admin.post("/api/identity/outlets", json={"name": f"Recon {suffix} {zone}", "currency": "EUR", "timezone": zone}))
            for zone in ZONES
        ]
        self.outlet_ids = [o["id"] for o in self.outlets]
        self.zones = {o["id"]: ZoneInfo(o.get("timezone") or "UTC") for o in self.outlets}
        # Two registers per outlet, made in identity (sales takes only an outlet's own).
        self.registers = {
            o: [ok(admin.post("/api/identity/registers", json={"outlet_id": o, "name": f"Till {n}"}), 201)["id"] for n in (1, 2)]
            for o in self.outlet_ids
        }
        self.categories = []
        for name in ("Drinks", "Bakery"):
            made = admin.post("/api/catalog/categories", json={"name": f"{name} {suffix}"})
            if made.status_code == 201:
                self.categories.append(made.json()["id"])
        self.products = []
        self.before_products = datetime.now(UTC)  # the outlets and registers exist, no product yet
        for i in range(8):
            body = {
                "sku": f"REC-{suffix}-{i}",
                "name": f"Recon item {i} {suffix}",
                "price_minor": rng.choice([500, 799, 1250, 1999, 2450, 999]),
                "cost_minor": rng.randint(100, 450),
                "tax_class": rng.choice(["standard", "standard", "reduced", "zero"]),
                "barcodes": [],
            }
            if self.categories and i % 3:
                body["category_id"] = self.categories[i % len(self.categories)]
            self.products.append(ok(admin.post("/api/catalog/products", json=body), 201))
        for outlet_id in self.outlet_ids:
            lines = [{"product_id": p["id"], "qty": 400} for p in self.products]
            ok(
                admin.post("/api/inventory/receipts", json={"outlet_id": outlet_id, "lines": lines, "reference": f"PO-{suffix}"}),
                201,
            )
        for p in self.products:
            eventually(
                lambda p=p: admin.get(f"/api/sales/prices/{p['id']}").status_code == 200, "the sales price replica", timeout=60.0
            )
        self.cashiers = []
        for n in range(2):
            email, password = f"recon-{suffix}-{n}@example.com", f"recon-pass-{suffix}-{n}"
            ok(
                admin.post(
                    "/api/identity/users",
                    json={
                        "email": email,
                        "name": f"Recon cashier {n}",
                        "password": password,
                        "role": "cashier",
                        "outlets": self.outlet_ids,
                    },
                ),
                201,
            )
            self.cashiers.append(stack.client(stack.login(email, password)))
        self.card = self.discounts = self.refunds = self.shifts = True
        self.open_shifts: dict[tuple[str, str], str] = {}

    # --- shifts ------------------------------------------------------------------------

    def open_registers(self) -> None:
        for outlet_id in self.outlet_ids:
            for register in self.registers[outlet_id]:
                shift_id = str(uuid.uuid4())
                body = {"id": shift_id, "outlet_id": outlet_id, "register_id": register, "opening_float_minor": 10000}
                opened = self.admin.post("/api/sales/shifts", json=body)
                if missing_feature(opened):
                    self.shifts = False
                    return
                ok(opened, 201)
                self.open_shifts[(outlet_id, register)] = shift_id

    def close_registers(self) -> list[dict[str, Any]]:
        closed = []
        for shift_id in self.open_shifts.values():
            shift = ok(self.admin.get(f"/api/sales/shifts/{shift_id}"))
            expected = shift.get("expected_cash_minor")
            counted = (expected if isinstance(expected, int) else 10000) + self.rng.choice([0, 0, -150, 300])
            closed.append(ok(self.admin.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": counted})))
        return closed

    # --- sales and refunds ---------------------------------------------------------------

    def sell(self) -> dict[str, Any] | None:
        rng = self.rng
        outlet_id = rng.choice(self.outlet_ids)
        register = rng.choice(self.registers[outlet_id])
        lines = []
        for product in rng.sample(self.products, rng.randint(1, 3)):
            line: dict[str, Any] = {"product_id": product["id"], "qty": rng.randint(1, 3)}
            if self.discounts and rng.random() < 0.2:
                line["discount"] = {"kind": "percent", "value": rng.choice([500, 1000])}
            lines.append(line)
        # At most 0.80 off a cart: the smallest cart is one 5.00 line less 10 % (4.50), and
        # more than 20 % of it (the outlet's approval threshold) would need a manager's PIN.
        cart_discount = {"kind": "amount", "value": rng.choice([50, 80])} if self.discounts and rng.random() < 0.15 else None
        kind = rng.choice(["cash", "card", "split"]) if self.card else "cash"
        tenders: list[dict[str, Any]] = []
        if kind in ("card", "split"):
            # Every line is at least 5.00 before a discount of at most 10 %: 1.00 on card always fits.
            amount = 100 if kind == "split" else None
            tenders.append({"kind": "card", "amount_minor": amount, "card_token": "pm_card_visa"})
        if kind in ("cash", "split"):
            tenders.append({"kind": "cash", "amount_minor": 10**6})
        if kind == "card":
            cart = {"outlet_id": outlet_id, "lines": lines} | ({"discount": cart_discount} if cart_discount else {})
            quote = self.admin.post("/api/sales/quote", json=cart)
            if quote.status_code != 200:
                self.card = False
                return self.sell()
            tenders[0]["amount_minor"] = quote.json()["total_minor"]
        body: dict[str, Any] = {"id": str(uuid.uuid4()), "outlet_id": outlet_id, "lines": lines, "tenders": tenders}
        if cart_discount:
            body["discount"] = cart_discount
        if self.shifts:
            body["register_id"] = register
        cashier = rng.choice(self.cashiers)
        answer = cashier.post("/api/sales", json=body)
        if answer.status_code != 201 and missing_feature(answer):
            if (cart_discount or any("discount" in line for line in lines)) and self.discounts:
                self.discounts = False
            elif kind != "cash":
                self.card = False
            elif "register_id" in body:
                self.shifts = False
            else:
                raise AssertionError(f"a cash sale was refused: {answer.status_code} {answer.text}")
            return self.sell()
        return ok(answer, 201)

    def refund(self, sale: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        body: dict[str, Any] = {"id": str(uuid.uuid4()), "reason": "reconciliation test"}
        if rng.random() < 0.6:
            chosen = rng.sample(sale["lines"], rng.randint(1, len(sale["lines"])))
            body["lines"] = [
                {"line_no": ln["line_no"], "qty": rng.randint(1, ln["qty"]), "restock": rng.random() < 0.7} for ln in chosen
            ]
        else:
            body["restock"] = rng.random() < 0.5
        if rng.random() < 0.3:
            body["destination"] = "cash"
        if self.shifts:
            body["register_id"] = rng.choice(self.registers[sale["outlet_id"]])
        answer = self.admin.post(f"/api/sales/{sale['sale_id']}/refunds", json=body)
        if missing_feature(answer):
            self.refunds = False
            return None
        return ok(answer, 201)


def recorded(admin: httpx.Client, outlet_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every completed sale of these outlets, and their completed refunds, as sales has them."""
    sales, refunds = [], []
    for outlet_id in outlet_ids:
        offset = 0
        while True:
            page = ok(
                admin.get("/api/sales", params={"outlet_id": outlet_id, "status": "COMPLETED", "limit": 500, "offset": offset})
            )
            for item in page["items"]:
                sale = ok(admin.get(f"/api/sales/{item['id']}"))
                assert sale["total_minor"] == item["total_minor"]
                sales.append(sale)
                listed = admin.get(f"/api/sales/{item['id']}/refunds")
                if listed.status_code == 200:
                    refunds.extend(r for r in listed.json() if r.get("status", "COMPLETED") == "COMPLETED")
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
    return sales, refunds


def test_every_report_equals_what_sales_recorded(local_stack: Stack) -> None:
    seed = int(os.environ.get("POS_TEST_SEED", str(int(time.time()))))
    print(f"reconciliation seed: {seed} (POS_TEST_SEED={seed} repeats the workload)")
    rng = random.Random(seed)
    token = local_stack.login()
    admin_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    admin = local_stack.client(token)
    shop = Shop(local_stack, admin, rng)
    shop.open_registers()
    made = [s for s in (shop.sell() for _ in range(SALES)) if s]
    refunded = []
    for sale in rng.sample(made, len(made) // 4):
        if not shop.refunds:
            break
        if (r := shop.refund(sale)) is not None:
            refunded.append(r)
    closed = shop.close_registers() if shop.shifts else []
    print(
        f"features used: card={shop.card} discounts={shop.discounts} refunds={shop.refunds} shifts={shop.shifts}; "
        f"{len(made)} sales, {len(refunded)} refunds, {len(closed)} shifts"
    )

    sales, refunds = recorded(admin, shop.outlet_ids)
    assert {s["sale_id"] for s in sales} == {s["sale_id"] for s in made}
    assert len(refunds) == len(refunded)
    products = {p["id"]: p for p in shop.products}
    zones = shop.zones

    def local(outlet_id: str, timestamp: str) -> datetime:
        return datetime.fromisoformat(timestamp).astimezone(zones[outlet_id])

    # --- what the reports must say, from what sales recorded --------------------------
    day_outlet: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_hour: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_product: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_category: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_cashier: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_tender: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_register: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_outlet: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    sold_lines: dict[tuple[str, int], dict[str, Any]] = {}
    for s in sales:
        moment = local(s["outlet_id"], s["completed_at"])
        discount = sum(ln["discount_minor"] for ln in s["lines"])
        assert s["discount_minor"] == discount, s["sale_id"]
        cost = sum(ln["qty"] * products[ln["product_id"]]["cost_minor"] for ln in s["lines"])
        figures = {
            "sales_count": 1,
            "items_sold": sum(ln["qty"] for ln in s["lines"]),
            "gross_minor": s["total_minor"],
            "tax_minor": s["tax_minor"],
            "net_minor": s["total_minor"] - s["tax_minor"],
            "discount_minor": discount,
            "cost_minor": cost,
            "split_count": int(len(s["tenders"]) > 1),
        }
        for target in (
            day_outlet[(moment.date().isoformat(), s["outlet_id"])],
            by_hour[moment.hour],
            by_cashier[s["cashier_id"]],
            by_register[(s["outlet_id"], s.get("register_id") or "")],
            by_outlet[s["outlet_id"]],
            totals,
        ):
            for k, v in figures.items():
                target[k] += v
        for ln in s["lines"]:
            sold_lines[(s["sale_id"], ln["line_no"])] = ln
            product = products[ln["product_id"]]
            for target in (by_product[ln["product_id"]], by_category[product.get("category_id")]):
                target["qty"] += ln["qty"]
                target["gross_minor"] += ln["total_minor"]
                target["tax_minor"] += ln["tax_minor"]
                target["discount_minor"] += ln["discount_minor"]
                target["cost_minor"] += ln["qty"] * product["cost_minor"]
        for t in s["tenders"]:
            by_tender[t["kind"]]["amount_minor"] += t["amount_minor"]
            by_tender[t["kind"]]["count"] += 1
    outlet_of = {s["sale_id"]: s["outlet_id"] for s in sales}
    for r in refunds:
        outlet_id = outlet_of[r["sale_id"]]
        moment = local(outlet_id, r["refunded_at"])
        restocked_cost = sum(ln["qty"] * products[ln["product_id"]]["cost_minor"] for ln in r["lines"] if ln["restock"])
        figures = {
            "refund_count": 1,
            "refund_items": sum(ln["qty"] for ln in r["lines"]),
            "refund_minor": r["total_minor"],
            "refund_tax_minor": r["tax_minor"],
            "refund_cost_minor": restocked_cost,
        }
        cashier = r.get("cashier_id") or admin_id
        for target in (
            day_outlet[(moment.date().isoformat(), outlet_id)],
            by_hour[moment.hour],
            by_cashier[cashier],
            by_register[(outlet_id, r.get("register_id") or "")],
            by_outlet[outlet_id],
            totals,
        ):
            for k, v in figures.items():
                target[k] += v
        for ln in r["lines"]:
            product = products[ln["product_id"]]
            for target in (by_product[ln["product_id"]], by_category[product.get("category_id")]):
                target["refund_qty"] += ln["qty"]
                target["refund_minor"] += ln["total_minor"]
        for t in r["tenders"]:
            by_tender[t["kind"]]["refund_minor"] += t["amount_minor"]
            by_tender[t["kind"]]["refund_count"] += 1

    today = datetime.now(UTC).date()
    scope = {
        "outlet_id": shop.outlet_ids,
        "date_from": (today - timedelta(days=1)).isoformat(),
        "date_to": (today + timedelta(days=1)).isoformat(),
    }

    def report(path: str, **params: Any) -> dict[str, Any]:
        return ok(admin.get(f"/api/reports/{path}", params=scope | params))

    def caught_up() -> bool:
        got = report("sales/daily")["totals"]
        return got["sales_count"] == totals["sales_count"] and got["refund_count"] == totals.get("refund_count", 0)

    eventually(caught_up, "the reports to count every sale and refund", timeout=60.0)

    # by day and outlet
    daily = report("sales/daily")
    fields = (
        "sales_count",
        "items_sold",
        "gross_minor",
        "tax_minor",
        "net_minor",
        "discount_minor",
        "cost_minor",
        "split_count",
        "refund_count",
        "refund_items",
        "refund_minor",
        "refund_tax_minor",
        "refund_cost_minor",
    )
    assert {(r["day"], r["outlet_id"]): {f: r[f] for f in fields} for r in daily["rows"]} == {
        k: {f: v.get(f, 0) for f in fields} for k, v in day_outlet.items()
    }
    total = daily["totals"]
    assert total["currency"] == "EUR"
    for f in fields:
        if f != "split_count":
            assert total[f] == totals.get(f, 0), f
    assert total["net_after_refunds_minor"] == totals["net_minor"] - totals.get("refund_minor", 0) + totals.get(
        "refund_tax_minor", 0
    )
    assert total["average_basket_minor"] == (2 * totals["gross_minor"] + totals["sales_count"]) // (2 * totals["sales_count"])

    # the workload gave discounts (line and cart), and the reports show them
    assert shop.discounts and totals["discount_minor"] > 0, "no discounted sale in the workload"

    # by hour, product, category, cashier, register, tender, outlet: all the same money
    summed = ("sales_count", "gross_minor", "discount_minor", "tax_minor", "refund_count", "refund_minor", "refund_tax_minor")
    hourly = report("sales/hourly")
    assert {r["hour"]: {f: r[f] for f in summed} for r in hourly["rows"]} == {
        h: {f: v.get(f, 0) for f in summed} for h, v in by_hour.items()
    }
    items = report("sales/items", limit=1000)["rows"]
    line_fields = ("qty", "gross_minor", "discount_minor", "tax_minor", "cost_minor", "refund_qty", "refund_minor")
    assert {r["product_id"]: {f: r[f] for f in line_fields} for r in items} == {
        p: {f: v.get(f, 0) for f in line_fields} for p, v in by_product.items()
    }
    categories = report("sales/categories")["rows"]
    assert {r["category_id"]: {f: r[f] for f in line_fields} for r in categories} == {
        c: {f: v.get(f, 0) for f in line_fields} for c, v in by_category.items()
    }
    cashiers = report("sales/cashiers")["rows"]
    assert {r["cashier_id"]: {f: r[f] for f in summed} for r in cashiers} == {
        c: {f: v.get(f, 0) for f in summed} for c, v in by_cashier.items()
    }
    # per register, sales and refunds where they were rung up (SaleCompleted / SaleRefunded register_id)
    assert shop.shifts, "the workload needs registers"
    registers = report("sales/cashiers", by="register")
    assert {(r["outlet_id"], r["register_id"]): {f: r[f] for f in summed} for r in registers["rows"]} == {
        k: {f: v.get(f, 0) for f in summed} for k, v in by_register.items()
    }
    assert all(register in shop.registers[outlet] for outlet, register in by_register)
    assert registers["totals_by_currency"] == daily["totals_by_currency"]
    tenders = report("sales/tenders")
    tender_fields = ("amount_minor", "count", "refund_minor", "refund_count")
    assert {r["kind"]: {f: r[f] for f in tender_fields} for r in tenders["rows"]} == {
        k: {f: v.get(f, 0) for f in tender_fields} for k, v in by_tender.items()
    }
    assert tenders["split_sales_count"] == totals["split_count"]
    # payments' own figures (PaymentCaptured) agree with what sales says the tenders paid
    assert {r["kind"]: r["captured_minor"] for r in tenders["rows"]} == {k: v["amount_minor"] for k, v in by_tender.items()}
    outlets = report("sales/outlets")["rows"]
    assert {r["outlet_id"]: {f: r[f] for f in summed} for r in outlets} == {
        o: {f: v.get(f, 0) for f in summed} for o, v in by_outlet.items()
    }

    # shifts (Z summaries) as sales closed them
    if closed:
        shifts = eventually(
            lambda: len(report("shifts")["rows"]) == len(closed) and report("shifts"), "every ShiftClosed", timeout=60.0
        )
        got = {r["shift_id"]: r for r in shifts["rows"]}
        for z in closed:
            shift_id = z.get("shift_id") or z.get("id")
            for f in (
                "over_short_minor",
                "counted_cash_minor",
                "expected_cash_minor",
                "sales_count",
                "sales_total_minor",
                "refunds_total_minor",
            ):
                if f in z:
                    assert got[shift_id][f] == z[f], (shift_id, f)

    # every report's CSV carries the same money as its JSON (as decimals in the row's
    # currency, under the column's name without _minor: "12.50" is 1250 cents)
    def minor(cell: str) -> int:
        units, _, cents = cell.partition(".")
        sign = -1 if units.startswith("-") else 1
        return sign * (abs(int(units)) * 100 + int(cents or 0))

    for path, column, expected in (
        ("sales/daily", "gross_minor", totals["gross_minor"]),
        ("sales/hourly", "gross_minor", totals["gross_minor"]),
        ("sales/items", "gross_minor", totals["gross_minor"]),
        ("sales/categories", "gross_minor", totals["gross_minor"]),
        ("sales/cashiers", "gross_minor", totals["gross_minor"]),
        ("sales/outlets", "gross_minor", totals["gross_minor"]),
        ("sales/tenders", "amount_minor", totals["gross_minor"]),
        ("sales/tender-currencies", "amount_minor", totals["gross_minor"]),
        ("sales/daily", "discount_minor", totals["discount_minor"]),
        ("sales/cashiers", "discount_minor", totals["discount_minor"]),
    ):
        response = admin.get(f"/api/reports/{path}", params=scope | {"format": "csv", "limit": 1000})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv"), path
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert all(row["currency"] == "EUR" for row in rows), path
        assert sum(minor(row[column.removesuffix("_minor")]) for row in rows) == expected, path

    # stock: valuation at cost equals inventory's levels times the cost prices
    def valued() -> Any:
        levels = {
            (o, p["id"]): ok(admin.get(f"/api/inventory/stock/{o}/{p['id']}"))["on_hand"]
            for o in shop.outlet_ids
            for p in shop.products
        }
        rows = ok(admin.get("/api/reports/stock/valuation", params={"outlet_id": shop.outlet_ids}))["rows"]
        want = {
            o: (
                sum(levels[(o, p["id"])] for p in shop.products),
                sum(levels[(o, p["id"])] * p["cost_minor"] for p in shop.products),
            )
            for o in shop.outlet_ids
        }
        got = {r["outlet_id"]: (r["units"], r["value_minor"]) for r in rows}
        return got == want or None

    eventually(valued, "the stock valuation to match inventory", timeout=60.0)
