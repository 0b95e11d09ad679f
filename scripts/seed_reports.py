#!/usr/bin/env python3
"""Load a year of realistic history into the reports read models, through the reports
service's own event handlers (pos_reports.handlers, the functions its consumer runs),
a day of events per transaction (pos_reports.batch.apply_batch).

    .venv/bin/python scripts/seed_reports.py \\
        --database-url mysql+pymysql://root@127.0.0.1:3306/pos_i7_reports

What it makes (defaults): 20 outlets in 3 currencies and 5 timezones, of different
sizes (one opened in spring, one slipping), 6 cashiers and 2-3 registers each, 3,000
products in 40 categories with Zipf-like popularity and cost prices that change now
and then, and for each of the 365 days ending yesterday: sales between 08:00 and
21:00 local time peaking at lunch and after work, more on Fridays and Saturdays and
in December (about 60 sales a day per outlet, 2.7 lines a sale: > 1,000,000 lines),
cash, card and split tenders, about 1 % of sales refunded within a week (70 %
restocked), voids, a PaymentCaptured and a StockDeducted per sale, stock receipts twice
a week, LowStockDetected when a level crosses its reorder point, and a ShiftClosed
per register per day. Some lines carry a discount_minor (see docs/reports.md).

The events are what the other services publish (same contracts, envelopes with fresh
ids, occurred_at = when they happened); the read models are emptied first unless
--keep. --days-per-batch days of events go in one transaction (the counters they add to
the same rows are summed first); the inbox is not written (made-up events are never
delivered by the broker; --inbox writes it). Prints how long it took.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
for package in ("libs/contracts", "libs/platform", "services/reports"):
    sys.path.insert(0, str(ROOT / package))

from sqlalchemy import func, select  # noqa: E402

from pos_contracts import Envelope  # noqa: E402
from pos_platform.db import Database  # noqa: E402
from pos_platform.migrate import upgrade  # noqa: E402
from pos_reports.batch import BatchResult, apply_batch  # noqa: E402
from pos_reports.projection import ReplicaCache  # noqa: E402
from pos_reports.rebuild import Progress, truncate_read_models  # noqa: E402
from pos_reports.tables import READ_MODELS, metadata  # noqa: E402

CITIES = [
    ("Paris Rivoli", "EUR", "Europe/Paris"),
    ("Paris Bastille", "EUR", "Europe/Paris"),
    ("Lyon Part-Dieu", "EUR", "Europe/Paris"),
    ("Marseille Vieux-Port", "EUR", "Europe/Paris"),
    ("Bordeaux Centre", "EUR", "Europe/Paris"),
    ("Lille Flandres", "EUR", "Europe/Paris"),
    ("Berlin Mitte", "EUR", "Europe/Berlin"),
    ("Hamburg Altona", "EUR", "Europe/Berlin"),
    ("Munich Schwabing", "EUR", "Europe/Berlin"),
    ("Cologne Dom", "EUR", "Europe/Berlin"),
    ("Madrid Sol", "EUR", "Europe/Madrid"),
    ("Barcelona Gracia", "EUR", "Europe/Madrid"),
    ("Valencia Ruzafa", "EUR", "Europe/Madrid"),
    ("Seville Triana", "EUR", "Europe/Madrid"),
    ("London Soho", "GBP", "Europe/London"),
    ("London Camden", "GBP", "Europe/London"),
    ("Manchester Piccadilly", "GBP", "Europe/London"),
    ("Leeds Briggate", "GBP", "Europe/London"),
    ("New York SoHo", "USD", "America/New_York"),
    ("Brooklyn Williamsburg", "USD", "America/New_York"),
]
HOURS = list(range(8, 21))  # opening hours, local
HOUR_WEIGHTS = [3, 5, 6, 7, 11, 12, 8, 6, 6, 8, 11, 10, 6]
WEEKDAY = [0.9, 0.85, 0.95, 1.0, 1.15, 1.35, 0.75]  # Monday .. Sunday
MONTH = [0.85, 0.88, 0.95, 1.0, 1.02, 1.0, 0.95, 0.9, 1.0, 1.05, 1.15, 1.45]
LINES_PER_SALE = [1, 2, 3, 4, 5, 6, 7, 8]
LINES_WEIGHTS = [25, 25, 18, 12, 8, 6, 4, 2]  # mean about 2.8
TAX_BP = {"standard": 2000, "reduced": 550, "zero": 0}


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass
class Outlet:
    outlet_id: str
    name: str
    currency: str
    zone: ZoneInfo
    size: float
    opened: date
    trend: float  # growth over the year (negative: slipping)
    cashiers: list[str]
    registers: list[str]
    # register -> [cash taken, sales count, sales total, refunds total] today
    tills: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Product:
    product_id: str
    sku: str
    name: str
    category_id: str
    price: int
    cost: int
    tax_bp: int
    weight: float


class History:
    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = random.Random(args.seed)
        self.args = args
        self.end = args.end
        self.start = self.end - timedelta(days=args.days - 1)
        self.outlets: list[Outlet] = []
        self.products: list[Product] = []
        self.cum_weights: list[float] = []
        self.stock: dict[tuple[str, str], int] = {}
        self.reorder: dict[tuple[str, str], int] = {}
        self.recent: dict[str, list[dict[str, Any]]] = defaultdict(list)  # outlet -> sales of the last days
        self.sales = self.lines = self.events = self.refunds = 0

    def envelope(
        self, type_: str, producer: str, at: datetime, payload: dict[str, Any], outlet_id: str | None = None
    ) -> Envelope:
        self.events += 1
        return Envelope.model_construct(
            event_id=str(uuid.uuid4()),
            type=type_,
            version=1,
            occurred_at=at,
            producer=producer,
            correlation_id=None,
            outlet_id=outlet_id,
            payload=payload,
        )

    # --- the chain -------------------------------------------------------------------

    def setup(self) -> list[Envelope]:
        rng = self.rng
        at = datetime.combine(self.start - timedelta(days=2), datetime.min.time(), UTC)
        out = []
        for i in range(self.args.outlets):
            name, currency, tz = CITIES[i % len(CITIES)]
            outlet = Outlet(
                outlet_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                name=name if i < len(CITIES) else f"{name} {i // len(CITIES) + 1}",
                currency=currency,
                zone=ZoneInfo(tz),
                size=max(0.35, rng.lognormvariate(0, 0.4)),
                opened=self.start + timedelta(days=120) if i == 5 else self.start,
                trend=-0.35 if i == 3 else rng.uniform(-0.05, 0.2),
                cashiers=[str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(6)],
                registers=[f"{name[:3].upper()}-{n}" for n in range(1, rng.choice([3, 3, 4]))],
            )
            self.outlets.append(outlet)
            out.append(
                self.envelope(
                    "OutletCreated",
                    "identity",
                    at,
                    {"outlet_id": outlet.outlet_id, "name": outlet.name, "currency": currency, "timezone": tz},
                    outlet.outlet_id,
                )
            )
            for n, cashier in enumerate(outlet.cashiers):
                out.append(
                    self.envelope(
                        "UserChanged",
                        "identity",
                        at,
                        {
                            "user_id": cashier,
                            "email": f"cashier{n}.{i}@example.com",
                            "name": f"Cashier {n + 1} ({name})",
                            "role": "cashier",
                            "outlets": [outlet.outlet_id],
                            "active": True,
                        },
                    )
                )
        categories = [(str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"Category {c + 1:02d}") for c in range(40)]
        for p in range(self.args.products):
            category_id, category_name = categories[int(rng.paretovariate(1.2)) % len(categories)]
            price = rng.choice([99, 149, 199, 249, 299, 349, 399, 499, 599, 799, 999, 1299, 1499, 1999, 2499, 3499, 4999])
            tax_class = rng.choices(["standard", "reduced", "zero"], [80, 15, 5])[0]
            product = Product(
                product_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                sku=f"SKU-{p + 1:06d}",
                name=f"Product {p + 1:04d}",
                category_id=category_id,
                price=price,
                cost=int(price * rng.uniform(0.35, 0.7)),
                tax_bp=TAX_BP[tax_class],
                weight=1.0 / (p + 1) ** 0.95,
            )
            self.products.append(product)
            out.append(
                self.envelope("ProductCreated", "catalog", at, self.product_payload(product) | {"category_name": category_name})
            )
        self.rng.shuffle(self.products)  # popularity does not follow the SKU order
        self.cum_weights = list(itertools.accumulate(p.weight for p in self.products))
        # An initial stock take: about three weeks of sales on the shelf.
        total_weight = self.cum_weights[-1]
        mean_lines = sum(n * w for n, w in zip(LINES_PER_SALE, LINES_WEIGHTS, strict=True)) / sum(LINES_WEIGHTS)
        for outlet in self.outlets:
            per_day = self.args.sales_per_day * outlet.size * mean_lines * 1.3
            for product in self.products:
                demand = per_day * product.weight / total_weight
                point = max(2, math.ceil(demand * 7))
                key = (outlet.outlet_id, product.product_id)
                self.reorder[key] = point
                self.stock[key] = point * 3
                out.append(
                    self.envelope(
                        "StockAdjusted",
                        "inventory",
                        at,
                        {
                            "outlet_id": outlet.outlet_id,
                            "product_id": product.product_id,
                            "delta": point * 3,
                            "reason": "count",
                            "on_hand_after": point * 3,
                        },
                        outlet.outlet_id,
                    )
                )
        return out

    @staticmethod
    def product_payload(p: Product) -> dict[str, Any]:
        tax_class = {2000: "standard", 550: "reduced", 0: "zero"}[p.tax_bp]
        return {
            "product_id": p.product_id,
            "sku": p.sku,
            "name": p.name,
            "barcodes": [],
            "category_id": p.category_id,
            "price_minor": p.price,
            "cost_minor": p.cost,
            "currency": "EUR",
            "tax_class": tax_class,
            "active": True,
        }

    # --- a day ---------------------------------------------------------------------------

    def day(self, day: date) -> list[Envelope]:
        rng = self.rng
        out: list[Envelope] = []
        morning = datetime.combine(day, datetime.min.time(), UTC)
        if day.day == 1:  # suppliers change some cost prices at the start of a month
            for product in rng.sample(self.products, len(self.products) // 20):
                product.cost = max(1, int(product.cost * rng.uniform(0.95, 1.12)))
                out.append(self.envelope("ProductChanged", "catalog", morning, self.product_payload(product)))
        progress = (day - self.start).days / max(1, self.args.days - 1)
        for outlet in self.outlets:
            if day < outlet.opened:
                continue
            outlet.tills = {r: [0, 0, 0, 0] for r in outlet.registers}
            expected = (
                self.args.sales_per_day
                * outlet.size
                * WEEKDAY[day.weekday()]
                * MONTH[day.month - 1]
                * (1 + outlet.trend * progress)
            )
            count = max(0, int(rng.gauss(expected, math.sqrt(expected))))
            moments = sorted(self.moment(day, outlet) for _ in range(count))
            for moment in moments:
                out.extend(self.sale(outlet, moment))
            out.extend(self.refunds_and_voids(outlet, day))
            out.extend(self.shifts(outlet, day))
            if day.weekday() in (0, 3):
                out.extend(self.receipts(outlet, day))
            cutoff = day - timedelta(days=7)
            self.recent[outlet.outlet_id] = [s for s in self.recent[outlet.outlet_id] if s["day"] > cutoff]
        out.sort(key=lambda e: e.occurred_at)
        return out

    def moment(self, day: date, outlet: Outlet) -> datetime:
        hour = self.rng.choices(HOURS, HOUR_WEIGHTS)[0]
        local = datetime(day.year, day.month, day.day, hour, self.rng.randrange(60), self.rng.randrange(60), tzinfo=outlet.zone)
        return local.astimezone(UTC)

    def pick_products(self, n: int) -> list[Product]:
        chosen: dict[str, Product] = {}
        total = self.cum_weights[-1]
        while len(chosen) < n:
            product = self.products[bisect.bisect_left(self.cum_weights, self.rng.random() * total)]
            chosen[product.product_id] = product
        return list(chosen.values())

    def sale(self, outlet: Outlet, at: datetime) -> list[Envelope]:
        rng = self.rng
        sale_id = str(uuid.uuid4())
        n_lines = rng.choices(LINES_PER_SALE, LINES_WEIGHTS)[0]
        lines, stock_lines, low = [], [], []
        for line_no, product in enumerate(self.pick_products(n_lines), start=1):
            qty = rng.choices([1, 2, 3, 4], [80, 14, 4, 2])[0]
            listed = product.price * qty
            discount = half_up(listed * rng.choice([10, 15, 20, 30]), 100) if rng.random() < 0.07 else 0
            total = listed - discount
            tax = half_up(total * product.tax_bp, 10_000 + product.tax_bp)
            lines.append(
                {
                    "line_no": line_no,
                    "product_id": product.product_id,
                    "sku": product.sku,
                    "name": product.name,
                    "category_id": product.category_id,
                    "qty": qty,
                    "unit_price_minor": product.price,
                    "tax_rate_bp": product.tax_bp,
                    "tax_minor": tax,
                    "total_minor": total,
                    "discount_minor": discount,
                }
            )
            key = (outlet.outlet_id, product.product_id)
            before = self.stock[key]
            self.stock[key] = after = before - qty
            stock_lines.append({"product_id": product.product_id, "qty": qty, "on_hand_after": after, "oversold": after < 0})
            if before > self.reorder[key] >= after:
                low.append((product.product_id, after, self.reorder[key]))
        total = sum(ln["total_minor"] for ln in lines)
        tax = sum(ln["tax_minor"] for ln in lines)
        kind = rng.choices(["card", "cash", "split"], [47, 40, 13])[0]
        if kind == "split" and total > 1:
            card = rng.randint(1, total - 1)
            tenders = [{"kind": "card", "amount_minor": card}, {"kind": "cash", "amount_minor": total - card}]
        else:
            tenders = [{"kind": "cash" if kind == "cash" else "card", "amount_minor": total}]
        register = rng.choice(outlet.registers)
        cashier = outlet.cashiers[outlet.registers.index(register) * 2 + rng.randrange(2)]
        till = outlet.tills[register]
        till[0] += sum(t["amount_minor"] for t in tenders if t["kind"] == "cash")
        till[1] += 1
        till[2] += total
        self.sales += 1
        self.lines += len(lines)
        local = at.astimezone(outlet.zone)
        payload = {
            "sale_id": sale_id,
            "outlet_id": outlet.outlet_id,
            "cashier_id": cashier,
            "register_id": register,
            "receipt_number": f"R{self.sales:08d}",
            "currency": outlet.currency,
            "lines": lines,
            "subtotal_minor": total - tax,
            "tax_minor": tax,
            "total_minor": total,
            "tenders": tenders,
            "discount_minor": sum(ln["discount_minor"] for ln in lines),
            "completed_at": local.isoformat(),
        }
        self.recent[outlet.outlet_id].append({"day": local.date(), "at": at, "payload": payload})
        out = [
            self.envelope("SaleCompleted", "sales", at, payload, outlet.outlet_id),
            self.envelope(
                "PaymentCaptured",
                "payments",
                at - timedelta(seconds=1),
                {
                    "payment_id": sale_id,
                    "sale_id": sale_id,
                    "outlet_id": outlet.outlet_id,
                    "currency": outlet.currency,
                    "amount_minor": total,
                    "tenders": tenders,
                },
                outlet.outlet_id,
            ),
            self.envelope(
                "StockDeducted",
                "inventory",
                at + timedelta(milliseconds=300),
                {"sale_id": sale_id, "outlet_id": outlet.outlet_id, "lines": stock_lines},
                outlet.outlet_id,
            ),
        ]
        for product_id, on_hand, point in low:
            out.append(
                self.envelope(
                    "LowStockDetected",
                    "inventory",
                    at + timedelta(milliseconds=301),
                    {"outlet_id": outlet.outlet_id, "product_id": product_id, "on_hand": on_hand, "reorder_point": point},
                    outlet.outlet_id,
                )
            )
        return out

    def refunds_and_voids(self, outlet: Outlet, day: date) -> list[Envelope]:
        rng = self.rng
        out = []
        recent = self.recent[outlet.outlet_id]
        for _ in range(int(rng.gauss(len(recent) / 7 * 0.012, 0.5) + 0.5) if recent else 0):
            chosen_sale = rng.choice(recent)
            sold = chosen_sale["payload"]
            at = self.moment(day, outlet)
            if at <= chosen_sale["at"]:
                continue
            chosen = rng.sample(sold["lines"], rng.randint(1, len(sold["lines"])))
            lines = []
            for ln in chosen:
                qty = rng.randint(1, ln["qty"])
                amount = ln["total_minor"] * qty // ln["qty"]
                lines.append(
                    {
                        "line_no": ln["line_no"],
                        "product_id": ln["product_id"],
                        "qty": qty,
                        "total_minor": amount,
                        "tax_minor": ln["tax_minor"] * qty // ln["qty"],
                        "restock": rng.random() < 0.7,
                    }
                )
            total = sum(ln["total_minor"] for ln in lines)
            register = rng.choice(outlet.registers)
            outlet.tills[register][3] += total
            outlet.tills[register][0] -= total
            refund_id = str(uuid.uuid4())
            self.refunds += 1
            out.append(
                self.envelope(
                    "SaleRefunded",
                    "sales",
                    at,
                    {
                        "refund_id": refund_id,
                        "sale_id": sold["sale_id"],
                        "outlet_id": outlet.outlet_id,
                        "cashier_id": rng.choice(outlet.cashiers),
                        "approved_by": outlet.cashiers[0],
                        "currency": outlet.currency,
                        "lines": lines,
                        "total_minor": total,
                        "tax_minor": sum(ln["tax_minor"] for ln in lines),
                        "tenders": [{"kind": "cash", "amount_minor": total}],
                        "refunded_at": at.astimezone(outlet.zone).isoformat(),
                        "register_id": register,
                    },
                    outlet.outlet_id,
                )
            )
            restocked = []
            for ln in lines:
                if ln["restock"]:
                    key = (outlet.outlet_id, ln["product_id"])
                    self.stock[key] += ln["qty"]
                    restocked.append({"product_id": ln["product_id"], "qty": ln["qty"], "on_hand_after": self.stock[key]})
            if restocked:
                out.append(
                    self.envelope(
                        "StockReturned",
                        "inventory",
                        at + timedelta(milliseconds=200),
                        {"refund_id": refund_id, "sale_id": sold["sale_id"], "outlet_id": outlet.outlet_id, "lines": restocked},
                        outlet.outlet_id,
                    )
                )
        for _ in range(rng.choice([0, 0, 0, 1])):
            at = self.moment(day, outlet)
            out.append(
                self.envelope(
                    "SaleVoided",
                    "sales",
                    at,
                    {
                        "sale_id": str(uuid.uuid4()),
                        "outlet_id": outlet.outlet_id,
                        "cashier_id": rng.choice(outlet.cashiers),
                        "approved_by": outlet.cashiers[0],
                        "voided_at": at.astimezone(outlet.zone).isoformat(),
                    },
                    outlet.outlet_id,
                )
            )
        return out

    def shifts(self, outlet: Outlet, day: date) -> list[Envelope]:
        out = []
        opened = datetime(day.year, day.month, day.day, 7, 45, tzinfo=outlet.zone)
        closed = datetime(day.year, day.month, day.day, 21, 10, tzinfo=outlet.zone)
        for n, (register, (cash, count, total, refunds)) in enumerate(outlet.tills.items()):
            expected = 15000 + cash
            counted = expected + self.rng.choices([0, -100, -500, 200, -2000], [80, 8, 5, 5, 2])[0]
            out.append(
                self.envelope(
                    "ShiftClosed",
                    "sales",
                    closed.astimezone(UTC),
                    {
                        "shift_id": str(uuid.uuid4()),
                        "outlet_id": outlet.outlet_id,
                        "register_id": register,
                        "cashier_id": outlet.cashiers[n * 2],
                        "currency": outlet.currency,
                        "opened_at": opened.isoformat(),
                        "closed_at": closed.isoformat(),
                        "opening_float_minor": 15000,
                        "expected_cash_minor": expected,
                        "counted_cash_minor": counted,
                        "over_short_minor": counted - expected,
                        "sales_count": count,
                        "sales_total_minor": total,
                        "refunds_total_minor": refunds,
                    },
                    outlet.outlet_id,
                )
            )
        return out

    def receipts(self, outlet: Outlet, day: date) -> list[Envelope]:
        out = []
        at = datetime(day.year, day.month, day.day, 7, 0, tzinfo=outlet.zone).astimezone(UTC)
        for product in self.products:
            key = (outlet.outlet_id, product.product_id)
            if self.stock[key] <= self.reorder[key] and self.rng.random() < 0.9:
                delta = self.reorder[key] * 3 - self.stock[key]
                self.stock[key] += delta
                out.append(
                    self.envelope(
                        "StockAdjusted",
                        "inventory",
                        at,
                        {
                            "outlet_id": outlet.outlet_id,
                            "product_id": product.product_id,
                            "delta": delta,
                            "reason": "receipt",
                            "on_hand_after": self.stock[key],
                        },
                        outlet.outlet_id,
                    )
                )
        return out


def create_database(url: str) -> None:
    """CREATE DATABASE IF NOT EXISTS, for a MariaDB URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("mysql"):
        return
    import pymysql

    conn = pymysql.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 3306,
        user=parsed.username or "root",
        password=parsed.password or "",
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", required=True, help="the reports database, e.g. mysql+pymysql://root@127.0.0.1:3306/pos_i7_reports"
    )
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=datetime.now(UTC).date() - timedelta(days=1),
        help="last day (default: yesterday, UTC)",
    )
    parser.add_argument("--sales-per-day", type=float, default=60.0, help="average sales a day for an outlet of average size")
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days-per-batch", type=int, default=4, help="days of events per transaction")
    parser.add_argument("--inbox", action="store_true", help="record every event id in the inbox, as a replay does")
    parser.add_argument("--keep", action="store_true", help="do not empty the read models first")
    args = parser.parse_args(argv)

    started = time.monotonic()
    create_database(args.database_url)
    upgrade("reports", args.database_url)
    db = Database(args.database_url, metadata, "reports", pool_size=2)
    if not args.keep:
        truncate_read_models(db)
    history = History(args)
    cache = ReplicaCache()
    result = BatchResult()
    generating = applying = 0.0

    def apply(events: list[Envelope]) -> None:
        nonlocal applying
        t0 = time.monotonic()
        result.__iadd__(apply_batch(db, events, cache, record_inbox=args.inbox))
        applying += time.monotonic() - t0

    t0 = time.monotonic()
    setup = history.setup()
    generating += time.monotonic() - t0
    for start in range(0, len(setup), 20_000):
        apply(setup[start : start + 20_000])
    progress = Progress(args.days, label="days")
    day = history.start
    while day <= history.end:
        t0 = time.monotonic()
        events: list[Envelope] = []
        days = 0
        while day <= history.end and days < args.days_per_batch:
            events += history.day(day)
            day += timedelta(days=1)
            days += 1
        generating += time.monotonic() - t0
        apply(events)
        progress.update(days)
    progress.close()
    elapsed = time.monotonic() - started
    with db.transaction() as uow:
        rows = {t.name: uow.session.scalar(select(func.count()).select_from(t)) for t in READ_MODELS}
    db.dispose()
    print(f"{args.outlets} outlets, {args.days} days ({history.start} to {history.end}), {len(history.products):,} products")
    print(f"{history.sales:,} sales, {history.lines:,} sale lines, {history.refunds:,} refunds, {history.events:,} events")
    print(
        f"applied {result.applied:,} events ({result.duplicates} duplicates, {len(result.poison)} poison) in {elapsed:.0f} s: "
        f"{history.events / elapsed:,.0f} events/s, {history.lines / elapsed:,.0f} sale lines/s "
        f"(generating {generating:.0f} s, handlers + database {applying:.0f} s)"
    )
    print("read model rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
    return 0 if not result.poison else 1


if __name__ == "__main__":
    sys.exit(main())
