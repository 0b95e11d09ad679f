"""Past sales for the demo chain (issue 17): a few weeks of trade, so the dashboard, the
heat map and the reports have something to show on a first run.

The sales go through the sales service's real path for a sale made in the past: the
offline sync (`POST /api/sales/offline`, ADR 0054), which records a receipt as it was
printed, with its `sold_at`. Payments records the cash, inventory deducts the stock from
SaleCompleted and the reports count each sale on the day it was made, as for any sale.

- Deterministic: the same seed, days and start day make the same sales (and the same
  sale ids, so sending them again records nothing twice).
- Realistic enough: opening hours 08:00-20:00 in the outlet's time zone, busiest at
  lunch and after work, more on Fridays and Saturdays, fewer on Sundays; the second
  outlet smaller; baskets of 1-4 lines with a few best sellers.
- Cash only: a till takes only cash offline (a card needs its processor).
- Stock: what the history sells is received first (one stock receipt per outlet,
  "demo history"), so each level ends where the opening stock left it.
- A few refunds (at least one) of last week's sales, made now at the register (a
  refund cannot be back-dated): today's figures show them. The goods go back on the
  shelf unless damaged.
- No shifts: a shift is opened and closed now, it cannot be back-dated, so the history
  has no Z-reports (its sales belong to no shift).
- Receipt numbers R<register>-OFF9xxxxxxxx: a range a till's own offline sequence does
  not reach.
- The outlets' offline limit is raised to 720 h (the most) while the history is sent,
  so a sale weeks old is not listed as a sync exception, and set back afterwards; hence
  at most 29 days.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from pos_embedded.demo import log_in
from pos_sales.domain import div_round

MAX_DAYS = 29  # the oldest sale stays within the 720 h offline limit
OPEN_HOURS = range(8, 20)
# Relative trade per hour of the day (08:00 .. 19:00): lunch, then after work.
HOUR_WEIGHTS = [3, 4, 5, 6, 10, 9, 5, 4, 5, 7, 6, 3]
# Monday .. Sunday
DAY_WEIGHTS = [0.9, 0.9, 1.0, 1.0, 1.25, 1.6, 0.6]
OUTLET_WEIGHTS = [1.0, 0.7]
REFUND_SHARE = 0.015  # of the last week's sales
DEMO_OUTLETS = ("Harbour Street", "Station Square")  # as pos_embedded.demo makes them
HISTORY_RANGE = 900_000_000  # receipt numbers R1-OFF900000001 ...


@dataclass(frozen=True)
class Product:
    id: str
    sku: str
    name: str
    category_id: str | None
    price_minor: int
    tax_class: str


@dataclass(frozen=True)
class PlannedSale:
    id: str
    outlet: int  # index into the outlets
    sold_at: datetime  # aware, UTC
    day: date  # the outlet's local day
    lines: tuple[tuple[int, int], ...]  # (product index, qty)


def plan(
    days: int,
    today: date,
    product_count: int,
    zones: Sequence[ZoneInfo],
    *,
    per_day: int = 30,
    seed: int = 17,
) -> list[PlannedSale]:
    """The sales of the `days` days before `today` (not today), at each outlet (one zone
    each), in time order per outlet. `per_day`: an ordinary weekday's sales at the
    first outlet."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"the history is 1 to {MAX_DAYS} days, not {days}")
    rng = random.Random(seed)
    # A few best sellers: popularity falls off as 1/rank over a shuffled catalogue.
    ranks = list(range(product_count))
    rng.shuffle(ranks)
    popularity = [1 / (1 + ranks[i]) + 0.05 for i in range(product_count)]
    sales: list[PlannedSale] = []
    for outlet, zone in enumerate(zones):
        outlet_weight = OUTLET_WEIGHTS[outlet % len(OUTLET_WEIGHTS)]
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            expected = per_day * outlet_weight * DAY_WEIGHTS[day.weekday()]
            count = max(1, round(rng.gauss(expected, expected * 0.1)))
            moments = sorted(
                datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=zone)
                for hour in rng.choices(OPEN_HOURS, HOUR_WEIGHTS, k=count)
            )
            for moment in moments:
                picked: dict[int, int] = {}
                for _ in range(rng.choices((1, 2, 3, 4), (40, 30, 20, 10))[0]):
                    product = rng.choices(range(product_count), popularity)[0]
                    picked[product] = picked.get(product, 0) + rng.choices((1, 2, 3), (80, 15, 5))[0]
                sales.append(
                    PlannedSale(
                        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        outlet=outlet,
                        sold_at=moment.astimezone(UTC),
                        day=day,
                        lines=tuple(sorted(picked.items())),
                    )
                )
    return sales


def sold_per_product(sales: Sequence[PlannedSale]) -> dict[int, Counter[int]]:
    """outlet index -> product index -> qty the history sells."""
    sold: dict[int, Counter[int]] = defaultdict(Counter)
    for sale in sales:
        for product, qty in sale.lines:
            sold[sale.outlet][product] += qty
    return sold


def offline_body(
    sale: PlannedSale,
    number: int,
    products: Sequence[Product],
    *,
    outlet_id: str,
    register: dict[str, Any],
    cashier_id: str | None,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The receipt the till would have printed, priced as the outlet prices (tax-inclusive
    or on top, half-up per line), paid in cash with the next note up."""
    include = settings["prices_include_tax"]
    rates = settings["tax_rates_bp"]
    lines = []
    for index, qty in sale.lines:
        product = products[index]
        rate = int(rates.get(product.tax_class, 0))
        amount = product.price_minor * qty
        tax = div_round(amount * rate, 10_000 + rate) if include else div_round(amount * rate, 10_000)
        lines.append(
            {
                "product_id": product.id,
                "sku": product.sku,
                "name": product.name,
                "category_id": product.category_id,
                "qty": qty,
                "unit_price_minor": product.price_minor,
                "tax_rate_bp": rate,
                "tax_minor": tax,
                "total_minor": amount if include else amount + tax,
            }
        )
    total = sum(line["total_minor"] for line in lines)
    step = int(settings.get("cash_rounding_minor") or 0)
    due = div_round(total, step) * step if step > 1 else total
    note = next((n for n in (500, 1000, 2000, 5000, 10_000) if n >= due), due)
    tendered = due if number % 4 == 0 else note  # a quarter pay the exact amount
    return {
        "id": sale.id,
        "outlet_id": outlet_id,
        "register_id": register["id"],
        "cashier_id": cashier_id,
        "receipt_number": f"R{register['number']}-OFF{HISTORY_RANGE + number}",
        "sold_at": sale.sold_at.isoformat(),
        "currency": settings["currency"],
        "prices_include_tax": include,
        "lines": lines,
        "total_minor": total,
        "tax_minor": sum(line["tax_minor"] for line in lines),
        "rounding_minor": due - total,
        "tenders": [{"kind": "cash", "amount_minor": due, "tendered_minor": tendered}],
        "change_minor": tendered - due,
    }


@dataclass
class History:
    sales: int = 0
    refunds: int = 0
    # (outlet id, local day) -> [sales, gross minor]
    by_day: dict[tuple[str, date], list[int]] = field(default_factory=dict)
    sync_exceptions: int = 0
    # (outlet id, product id) -> qty the refunds put back on the shelf
    restocked: Counter[tuple[str, str]] = field(default_factory=Counter)


def _send(http: httpx.Client, method: str, url: str, body: dict[str, Any]) -> httpx.Response:
    """One request, sent again while the service asks to wait (429) or is briefly
    unavailable (503): the ids make a repeat harmless."""
    for _ in range(50):
        answer = http.request(method, url, json=body)
        if answer.status_code not in (429, 503):
            return answer.raise_for_status()
        time.sleep(min(float(answer.headers.get("Retry-After", "0.5")), 5.0))
    return answer.raise_for_status()


def seed_history(
    base_url: str,
    email: str,
    password: str,
    days: int,
    *,
    per_day: int = 30,
    seed: int = 17,
    today: date | None = None,
    log: Callable[[str], None] = lambda _: None,
    limits_file: Path | None = None,
) -> History:
    """Send the demo chain's past sales through the sales service (as the admin): the
    demo outlets, registers, users and DEMO- products seeded by pos_embedded.demo.

    Safe to run again after an interruption (the server stopped mid-way): the sales
    are recorded once (their ids), the stock receipt is posted once (looked up by its
    reference), and the outlets' offline limits are set back to what they were before
    the first run (kept in `limits_file` while the history is being recorded)."""
    with httpx.Client(base_url=base_url, timeout=60) as http:
        log_in(http, email, password)
        named = {o["name"]: o for o in http.get("/api/identity/outlets").raise_for_status().json()}
        outlets = [named[name] for name in DEMO_OUTLETS]
        registers = {r["outlet_id"]: r for r in http.get("/api/identity/registers").raise_for_status().json() if r["active"]}
        users = {u["email"]: u for u in http.get("/api/identity/users").raise_for_status().json()}
        items = http.get("/api/catalog/products", params={"limit": 500}).raise_for_status().json()["items"]
        products = [
            Product(p["id"], p["sku"], p["name"], p.get("category_id"), p["price_minor"], p["tax_class"])
            for p in sorted(items, key=lambda p: p["sku"])
            if p["sku"].startswith("DEMO-")
        ]
        settings = [http.get(f"/api/sales/outlets/{o['id']}/settings").raise_for_status().json() for o in outlets]
        zones = [ZoneInfo(s.get("timezone") or "UTC") for s in settings]
        day = today or datetime.now(zones[0]).date()
        sales = plan(days, day, len(products), zones, per_day=per_day, seed=seed)
        log(f"demo history: {len(sales)} past sales over {days} days, being recorded in the background")
        # Stock first: what the history sells is received, so levels end where they were.
        reference = f"demo history: the stock sold in the past {days} days"
        for outlet, sold in sold_per_product(sales).items():
            outlet_id = outlets[outlet]["id"]
            posted = http.get("/api/inventory/ledger", params={"reference": reference, "outlet_id": outlet_id})
            if posted.raise_for_status().json():
                continue  # an interrupted run received it already
            http.post(
                "/api/inventory/receipts",
                json={
                    "outlet_id": outlet_id,
                    "lines": [{"product_id": products[i].id, "qty": qty} for i, qty in sorted(sold.items())],
                    "reference": reference,
                },
            ).raise_for_status()
        # The limits as they were before the first run (an interrupted run left 720 h).
        if limits_file is not None and limits_file.exists():
            before = json.loads(limits_file.read_text())
            settings = [
                {**s, "offline_max_hours": before.get(o["id"], s["offline_max_hours"])}
                for o, s in zip(outlets, settings, strict=True)
            ]
        elif limits_file is not None:
            limits_file.write_text(json.dumps({o["id"]: s["offline_max_hours"] for o, s in zip(outlets, settings, strict=True)}))
        for outlet, current in zip(outlets, settings, strict=True):
            if current["offline_max_hours"] < 720:
                http.put(
                    f"/api/sales/outlets/{outlet['id']}/settings", json={**current, "offline_max_hours": 720}
                ).raise_for_status()
        sellers = [users[email]["id"] if email in users else None for email in ("cashier@example.com", "manager@example.com")]
        result = History()
        recent: list[tuple[str, str, list[dict[str, Any]]]] = []  # the last week's: (sale id, outlet id, lines)
        try:
            for number, sale in enumerate(sales, start=1):
                outlet = outlets[sale.outlet]
                # The cashier works the first outlet, the manager the second.
                who = sellers[min(sale.outlet, len(sellers) - 1)]
                body = offline_body(
                    sale,
                    number,
                    products,
                    outlet_id=outlet["id"],
                    register=registers[outlet["id"]],
                    cashier_id=who,
                    settings=settings[sale.outlet],
                )
                _send(http, "POST", "/api/sales/offline", body)
                result.sales += 1
                figures = result.by_day.setdefault((outlet["id"], sale.day), [0, 0])
                figures[0] += 1
                figures[1] += body["total_minor"]
                if (day - sale.day).days <= 7:
                    recent.append((sale.id, outlet["id"], body["lines"]))
            # A few customers brought something back this week.
            rng = random.Random(seed + 1)
            refunded = rng.sample(recent, k=max(1, round(len(recent) * REFUND_SHARE)) if recent else 0)
            for sale_id, outlet_id, lines in refunded:
                reason = rng.choice(("damaged", "changed their mind", "wrong item"))
                restock = reason != "damaged"  # a damaged one is not sold again
                _send(
                    http,
                    "POST",
                    f"/api/sales/{sale_id}/refunds",
                    {
                        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "reason": reason,
                        "restock": restock,
                        "register_id": registers[outlet_id]["id"],
                    },
                )
                if restock:
                    for line in lines:
                        result.restocked[(outlet_id, line["product_id"])] += line["qty"]
                result.refunds += 1
        finally:
            for outlet, current in zip(outlets, settings, strict=True):
                if current["offline_max_hours"] < 720:
                    http.put(f"/api/sales/outlets/{outlet['id']}/settings", json=current).raise_for_status()
            if limits_file is not None:
                limits_file.unlink(missing_ok=True)
        result.sync_exceptions = http.get("/api/sales/sync-exceptions/count").raise_for_status().json()["open"]
        return result
