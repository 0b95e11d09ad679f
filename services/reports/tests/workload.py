"""A random but repeatable history of every event type, and every report fetched."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from pos_contracts import Envelope
from pos_contracts.events import (
    LowStockDetected,
    PaymentCaptured,
    ProductChanged,
    SaleVoided,
    ShiftClosed,
    StockAdjusted,
    StockDeducted,
    StockLine,
    TenderLine,
    UserChanged,
)
from services.reports.tests.builders import envelope, line, outlet, product, refund, sale

START = datetime(2026, 1, 5, tzinfo=UTC)
OUTLETS = [("o-paris", "EUR", "Europe/Paris"), ("o-utc", "EUR", "UTC"), ("o-ny", "USD", "America/New_York")]
RANGE = {"date_from": "2026-01-01", "date_to": "2026-03-31"}
QUERIES = [
    ("sales/daily", {}),
    ("sales/daily", {"by": "day"}),
    ("sales/hourly", {}),
    ("sales/hourly", {"by": "day_hour"}),
    ("sales/items", {"limit": 1000}),
    ("sales/items", {"limit": 5, "sort": "margin", "order": "asc"}),
    ("sales/categories", {}),
    ("sales/cashiers", {}),
    ("sales/cashiers", {"by": "cashier_register"}),
    ("sales/tenders", {}),
    ("sales/outlets", {}),
    ("stock/valuation", {}),
    ("stock/low", {"date_to": "2026-03-31"}),
    ("stock/cover", {"date_to": "2026-03-31"}),
    ("shifts", {}),
    ("shifts", {"by": "cashier"}),
]


def history(seed: int = 7) -> list[Envelope]:
    """Outlets, people, products (costs changing), ~400 sales with split tenders,
    refunds, voids, payments, stock movements and shifts; some delivered twice."""
    rng = random.Random(seed)
    clock = [START - timedelta(days=1)]
    out: list[Envelope] = []

    def emit(event: Any, at: datetime | None = None, **extra: Any) -> Envelope:
        clock[0] = max(clock[0] + timedelta(milliseconds=1), at or clock[0])
        env = envelope(event, **extra).model_copy(update={"occurred_at": clock[0]})
        out.append(env)
        return env

    for outlet_id, currency, tz in OUTLETS:
        emit(outlet(outlet_id, outlet_id.title(), currency, tz))
    cashiers = [f"cashier-{i}" for i in range(4)]
    for cashier in cashiers:
        emit(
            UserChanged(
                user_id=cashier, email=f"{cashier}@example.com", name=cashier.title(), role="cashier", outlets=[], active=True
            )
        )
    catalog = {}
    for i in range(12):
        pid = f"p{i:02d}"
        catalog[pid] = {
            "price": rng.choice([150, 299, 450, 1000, 1299]),
            "cost": rng.randint(50, 120) * (i + 1),
            "cat": f"c{i % 4}",
        }
        emit(
            product(
                pid, f"Product {i}", cost=catalog[pid]["cost"], category_id=catalog[pid]["cat"], category_name=f"Category {i % 4}"
            )
        )
    stock = {(o, p): 200 for o, _, _ in OUTLETS for p in catalog}
    sold: list[tuple[Any, str]] = []
    moment = START
    for n in range(400):
        moment += timedelta(minutes=rng.randint(5, 600))
        outlet_id, currency, _ = rng.choice(OUTLETS)
        if n == 200:  # a cost change half-way: later sales use it, earlier ones keep theirs
            catalog["p00"]["cost"] += 77
            emit(
                ProductChanged(
                    product_id="p00",
                    sku="SKU-p00",
                    name="Product 0 new",
                    price_minor=catalog["p00"]["price"],
                    cost_minor=catalog["p00"]["cost"],
                    category_id="c0",
                    currency="EUR",
                ),
                moment,
            )
        lines = []
        for line_no, pid in enumerate(rng.sample(sorted(catalog), rng.randint(1, 4)), start=1):
            qty = rng.randint(1, 5)
            total = catalog[pid]["price"] * qty
            tax = (total * 2000 + 6000) // 12000 if catalog[pid]["cat"] != "c3" else 0
            lines.append(line(line_no, pid, qty, total, tax, category_id=catalog[pid]["cat"]))
        total = sum(ln.total_minor for ln in lines)
        card = rng.choice([0, 0, total, rng.randint(1, total)])
        tenders = ([("card", card)] if card else []) + ([("cash", total - card)] if total - card else [])
        event = sale(
            f"s{n:04d}", outlet_id, moment.isoformat(), lines, tenders, cashier_id=rng.choice(cashiers), currency=currency
        )
        extra = {"register_id": f"till-{rng.randint(1, 2)}"} if rng.random() < 0.5 else {}
        env = emit(event, moment, **extra)
        sold.append((event, outlet_id))
        if rng.random() < 0.03:
            out.append(env)  # the broker delivers it twice
        if rng.random() < 0.02:
            emit(event, moment)  # republished under a new event id
        emit(
            PaymentCaptured(
                payment_id=event.sale_id,
                sale_id=event.sale_id,
                outlet_id=outlet_id,
                currency=currency,
                amount_minor=total,
                tenders=[TenderLine(kind=k, amount_minor=a) for k, a in tenders],
            ),
            moment,
        )
        stock_lines = []
        for ln in lines:
            stock[(outlet_id, ln.product_id)] -= ln.qty
            stock_lines.append(StockLine(product_id=ln.product_id, qty=ln.qty, on_hand_after=stock[(outlet_id, ln.product_id)]))
        emit(StockDeducted(sale_id=event.sale_id, outlet_id=outlet_id, lines=stock_lines), moment + timedelta(seconds=1))
        if rng.random() < 0.05:
            pid = rng.choice(sorted(catalog))
            emit(
                LowStockDetected(
                    outlet_id=outlet_id, product_id=pid, on_hand=stock[(outlet_id, pid)], reorder_point=rng.randint(150, 250)
                )
            )
        if rng.random() < 0.08 and sold:
            old, where = rng.choice(sold)
            ln = rng.choice(old.lines)
            qty = rng.randint(1, ln.qty)
            amount = ln.unit_price_minor * qty
            emit(
                refund(
                    f"r{n:04d}",
                    old.sale_id,
                    where,
                    (moment + timedelta(minutes=3)).isoformat(),
                    [(ln.line_no, ln.product_id, qty, amount, ln.tax_minor * qty // ln.qty, rng.random() < 0.6)],
                    [("cash", amount)],
                    cashier_id=rng.choice(cashiers),
                    currency=old.currency,
                ),
                moment + timedelta(minutes=3),
            )
        if rng.random() < 0.05:
            emit(SaleVoided(sale_id=f"v{n}", outlet_id=outlet_id, cashier_id=rng.choice(cashiers), voided_at=moment.isoformat()))
        if n % 40 == 39:
            for o, currency_o, _ in OUTLETS:
                expected = rng.randint(10000, 90000)
                counted = expected + rng.choice([0, 0, -150, 200])
                emit(
                    ShiftClosed(
                        shift_id=f"z{n}-{o}",
                        outlet_id=o,
                        register_id="till-1",
                        cashier_id=rng.choice(cashiers),
                        currency=currency_o,
                        opened_at=(moment - timedelta(hours=8)).isoformat(),
                        closed_at=moment.isoformat(),
                        opening_float_minor=10000,
                        expected_cash_minor=expected,
                        counted_cash_minor=counted,
                        over_short_minor=counted - expected,
                        sales_count=rng.randint(1, 60),
                        sales_total_minor=rng.randint(1000, 100000),
                        refunds_total_minor=rng.randint(0, 5000),
                    )
                )
        if n % 50 == 0:
            o, _, _ = rng.choice(OUTLETS)
            pid = rng.choice(sorted(catalog))
            stock[(o, pid)] += 100
            emit(StockAdjusted(outlet_id=o, product_id=pid, delta=100, reason="receipt", on_hand_after=stock[(o, pid)]))
    return out


def fetch_all(client: TestClient, token: str) -> dict[str, Any]:
    answers = {}
    for path, params in QUERIES:
        query = ({} if path.startswith("stock") else RANGE) | params
        r = client.get(f"/api/reports/{path}", params=query, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (path, r.text)
        answers[f"{path} {sorted(params.items())}"] = r.json()
    return answers
