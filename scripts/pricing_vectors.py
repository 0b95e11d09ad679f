"""Shared pricing vectors: the sales service's pricing domain (pos_sales.domain) run over
a few hundred seeded random carts, written with their inputs to
web/src/lib/pricing.vectors.json. The till's web/src/lib/pricing.ts must give exactly
these figures (its vitest test runs every vector); tests/unit/test_pricing_vectors.py
fails when the committed file is stale.

    .venv/bin/python scripts/pricing_vectors.py            # rewrite the file
    .venv/bin/python scripts/pricing_vectors.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from pos_sales.domain import (
    ROUNDING_MODES,
    CartLine,
    CatalogPrice,
    CheckoutError,
    Discount,
    PricingPolicy,
    ScheduledRate,
    TenderIn,
    discounts_needing_approval,
    price_cart,
    rates_in_effect,
    settle,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "web" / "src" / "lib" / "pricing.vectors.json"
SEED = 15
COUNT = 300

# Outlets' policies the vectors draw from (tax classes as the demo chain and real
# chains name them), plus random ones.
OUTLETS: list[dict[str, Any]] = [
    {
        "tax_rates_bp": {"standard": 2000, "reduced": 500, "zero": 0},
        "prices_include_tax": True,
        "rounding_mode": "half_up",
        "cash_rounding_minor": 0,
        "discount_approval_bp": 2000,
    },
    {
        "tax_rates_bp": {"standard": 1900, "reduced": 700},
        "prices_include_tax": True,
        "rounding_mode": "half_even",
        "cash_rounding_minor": 5,
        "discount_approval_bp": 1500,
    },
    {
        "tax_rates_bp": {"standard": 825, "food": 0},
        "prices_include_tax": False,
        "rounding_mode": "half_up",
        "cash_rounding_minor": 0,
        "discount_approval_bp": 2500,
    },
    {
        "tax_rates_bp": {"standard": 2100, "reduced": 900, "super": 400},
        "prices_include_tax": True,
        "rounding_mode": "down",
        "cash_rounding_minor": 10,
        "discount_approval_bp": 1000,
    },
    {
        "tax_rates_bp": {"standard": 1000, "reduced": 333},
        "prices_include_tax": False,
        "rounding_mode": "up",
        "cash_rounding_minor": 25,
        "discount_approval_bp": 0,
    },
    {
        "tax_rates_bp": {"standard": 2500, "reduced": 1200, "zero": 0},
        "prices_include_tax": False,
        "rounding_mode": "half_even",
        "cash_rounding_minor": 50,
        "discount_approval_bp": 10_000,
    },
]


def random_policy(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.7:
        return json.loads(json.dumps(rng.choice(OUTLETS)))
    classes = rng.sample(["standard", "reduced", "zero", "food", "books", "luxury"], rng.randint(1, 4))
    return {
        "tax_rates_bp": {c: rng.choice([0, 1, 250, 333, 500, 700, 999, 1550, 2000, 2500, 9999, 10_000]) for c in classes},
        "prices_include_tax": rng.random() < 0.5,
        "rounding_mode": rng.choice(ROUNDING_MODES),
        "cash_rounding_minor": rng.choice([0, 1, 2, 5, 10, 20, 25, 50, 100]),
        "discount_approval_bp": rng.choice([0, 500, 2000, 5000, 10_000]),
    }


def random_discount(rng: random.Random, base_hint: int) -> dict[str, Any] | None:
    roll = rng.random()
    if roll < 0.55:
        return None
    if roll < 0.8:
        return {
            "kind": "percent",
            "value": rng.choice([1, 5, 333, 500, 1000, 1250, 1999, 2000, 2001, 3333, 5000, 9999, 10_000, rng.randint(0, 10_000)]),
        }
    return {
        "kind": "amount",
        "value": rng.choice([0, 1, 7, 50, 99, rng.randint(0, max(base_hint, 1)), base_hint + rng.randint(0, 500)]),
    }


def random_case(rng: random.Random, n: int) -> dict[str, Any]:
    policy = random_policy(rng)
    classes = sorted(policy["tax_rates_bp"])
    currency = "EUR"
    huge = rng.random() < 0.05  # past 2**53 in the products: the BigInt path
    prices: dict[str, dict[str, Any]] = {}
    lines: list[dict[str, Any]] = []
    for i in range(rng.randint(1, 8)):
        product_id = f"p{n}-{i}" if rng.random() < 0.85 or not prices else rng.choice(sorted(prices))
        if product_id not in prices:
            price = rng.choice([0, 1, 5, 99, 100, 199, 250, 399, 999, 1250, 2999, rng.randint(1, 50_000)])
            if huge:
                price = rng.randint(10**10, 10**11)
            prices[product_id] = {
                "product_id": product_id,
                "sku": f"SKU-{n}-{i}",
                "name": f"Item {n}.{i}",
                "category_id": rng.choice([None, "cat-a", "cat-b"]),
                "price_minor": price,
                "currency": currency,
                "tax_class": rng.choice(classes),
            }
        qty = rng.choice([1, 1, 1, 2, 3, 5, 12, rng.randint(1, 100)])
        gross = prices[product_id]["price_minor"] * qty
        lines.append({"product_id": product_id, "qty": qty, "discount": random_discount(rng, gross)})
    # A few carts the domain refuses: the till must refuse them with the same words.
    trouble = rng.random()
    if trouble < 0.02:
        lines[0]["qty"] = 0
    elif trouble < 0.04:
        lines.append({"product_id": "ghost", "qty": 1, "discount": None})
    elif trouble < 0.06:
        first = prices[lines[0]["product_id"]]
        first["tax_class"] = "unknown-class"
    elif trouble < 0.07:
        lines[0]["discount"] = {"kind": "percent", "value": 10_001}
    elif trouble < 0.08:
        lines[0]["discount"] = {"kind": "amount", "value": -5}
    elif trouble < 0.09:
        first = prices[lines[0]["product_id"]]
        first["currency"] = "USD"
    cart_discount = (
        random_discount(
            rng, sum(prices[x["product_id"]]["price_minor"] * max(x["qty"], 0) for x in lines if x["product_id"] in prices)
        )
        if rng.random() < 0.5
        else None
    )
    return {
        "name": f"cart-{n:03d}",
        "policy": policy,
        "prices": prices,
        "lines": lines,
        "cart_discount": cart_discount,
        "tender_plan": _tender_plan(rng),
    }


def _tender_plan(rng: random.Random) -> str:
    return rng.choice(["exact", "exact", "over", "round_up", "short", "card_cash", "card_all", "card_over", "none", "zero"])


def _tenders(plan: str, total: int, rng: random.Random) -> list[dict[str, Any]]:
    """Tenders for a priced total, drawn after pricing (so they fit it, or not, on purpose)."""
    if plan == "exact":
        return [{"kind": "cash", "amount_minor": max(total, 1)}]
    if plan == "over":
        return [{"kind": "cash", "amount_minor": total + rng.randint(1, 5000)}]
    if plan == "round_up":
        return [{"kind": "cash", "amount_minor": ((total // 1000) + 1) * 1000}]
    if plan == "short":
        return [{"kind": "cash", "amount_minor": max(total - rng.randint(1, 3), 1)}]
    if plan == "card_cash" and total > 1:
        card = rng.randint(1, total - 1)
        return [{"kind": "card", "amount_minor": card}, {"kind": "cash", "amount_minor": total - card + rng.randint(0, 200)}]
    if plan == "card_all":
        return [{"kind": "card", "amount_minor": max(total, 1)}]
    if plan == "card_over":
        return [{"kind": "card", "amount_minor": total + 1}]
    if plan == "zero":
        return [{"kind": "cash", "amount_minor": 0}]
    return []


def _discount(data: dict[str, Any] | None) -> Discount | None:
    return None if data is None else Discount(kind=data["kind"], value=data["value"])


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _policy_at(data: dict[str, Any], at: str | None) -> PricingPolicy:
    """The policy with the rates in effect at `at` when it has a tax schedule (ADR 0066)."""
    fields = {k: v for k, v in data.items() if k != "tax_schedule"}
    schedule = [ScheduledRate(e["tax_class"], _utc(e["starts_at"]), e["rate_bp"]) for e in data.get("tax_schedule", [])]
    if schedule:
        assert at is not None, "a vector with a tax schedule names its moment"
        fields["tax_rates_bp"] = rates_in_effect(fields["tax_rates_bp"], schedule, _utc(at))
    return PricingPolicy(**fields)


def run_case(case: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The case's inputs and the Python domain's answer (figures, or the refusal)."""
    policy = _policy_at(case["policy"], case.get("at"))
    prices = {pid: CatalogPrice(**p) for pid, p in case["prices"].items()}
    lines = [CartLine(x["product_id"], x["qty"], _discount(x["discount"])) for x in case["lines"]]
    plan = case.pop("tender_plan")
    try:
        cart = price_cart(lines, prices, policy=policy, cart_discount=_discount(case["cart_discount"]))
    except CheckoutError as error:
        case["tenders"] = []
        case["expected"] = {"error": str(error)}
        return case
    tenders = _tenders(plan, cart.total_minor, rng)
    case["tenders"] = tenders
    expected: dict[str, Any] = {
        "cart": {
            "currency": cart.currency,
            "prices_include_tax": cart.prices_include_tax,
            "lines": [
                {
                    "line_no": line.line_no,
                    "product_id": line.product_id,
                    "qty": line.qty,
                    "unit_price_minor": line.unit_price_minor,
                    "tax_rate_bp": line.tax_rate_bp,
                    "gross_minor": line.gross_minor,
                    "line_discount_minor": line.line_discount_minor,
                    "cart_discount_minor": line.cart_discount_minor,
                    "discount_minor": line.discount_minor,
                    "tax_minor": line.tax_minor,
                    "net_minor": line.net_minor,
                    "total_minor": line.total_minor,
                }
                for line in cart.lines
            ],
            "total_minor": cart.total_minor,
            "tax_minor": cart.tax_minor,
            "subtotal_minor": cart.subtotal_minor,
            "gross_minor": cart.gross_minor,
            "discount_minor": cart.discount_minor,
            "items": cart.items,
            "tax_bands": [{"rate_bp": b.rate_bp, "net_minor": b.net_minor, "tax_minor": b.tax_minor} for b in cart.tax_bands()],
            "needs_approval": discounts_needing_approval(cart, policy),
        }
    }
    try:
        s = settle(
            cart.total_minor,
            [TenderIn(t["kind"], t["amount_minor"]) for t in tenders],
            cash_rounding_minor=policy.cash_rounding_minor,
        )
        expected["settlement"] = {
            "tenders": [{"kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor} for t in s.tenders],
            "tendered_minor": s.tendered_minor,
            "change_minor": s.change_minor,
            "rounding_minor": s.rounding_minor,
            "due_minor": s.due_minor,
        }
    except CheckoutError as error:
        expected["settlement"] = {"error": str(error)}
    case["expected"] = expected
    return case


def handpicked() -> list[dict[str, Any]]:
    """Edge cases the random draw may miss: halves under every rounding mode, a cart
    discount shared with ties, cash rounding both ways."""
    cases = []
    for mode in ROUNDING_MODES:
        for include in (True, False):
            cases.append(
                {
                    "name": f"halves-{mode}-{'incl' if include else 'excl'}",
                    "policy": {
                        "tax_rates_bp": {"standard": 2000, "half": 5000},
                        "prices_include_tax": include,
                        "rounding_mode": mode,
                        "cash_rounding_minor": 5,
                        "discount_approval_bp": 2000,
                    },
                    "prices": {
                        "a": {
                            "product_id": "a",
                            "sku": "A",
                            "name": "A",
                            "category_id": None,
                            "price_minor": 3,
                            "currency": "EUR",
                            "tax_class": "half",
                        },
                        "b": {
                            "product_id": "b",
                            "sku": "B",
                            "name": "B",
                            "category_id": "c",
                            "price_minor": 5,
                            "currency": "EUR",
                            "tax_class": "half",
                        },
                        "c": {
                            "product_id": "c",
                            "sku": "C",
                            "name": "C",
                            "category_id": None,
                            "price_minor": 1001,
                            "currency": "EUR",
                            "tax_class": "standard",
                        },
                    },
                    "lines": [
                        {"product_id": "a", "qty": 1, "discount": None},
                        {"product_id": "b", "qty": 1, "discount": {"kind": "percent", "value": 5000}},
                        {"product_id": "c", "qty": 3, "discount": {"kind": "amount", "value": 1}},
                    ],
                    "cart_discount": {"kind": "amount", "value": 7},
                    "tender_plan": "over",
                }
            )
    return cases


def date_switches() -> list[dict[str, Any]]:
    """A rate change at an outlet's local midnight (ADR 0066): Berlin's 1 January 2027 is
    2026-12-31T23:00:00Z, its 1 July 2027 2027-06-30T22:00:00Z (summer time). The till
    picks the rate by the sale's moment from the schedule it was sent."""
    schedule = [
        {"tax_class": "standard", "starts_at": "2026-12-31T23:00:00Z", "rate_bp": 2100},
        {"tax_class": "standard", "starts_at": "2027-06-30T22:00:00Z", "rate_bp": 2300},
        {"tax_class": "reduced", "starts_at": "2026-12-31T23:00:00Z", "rate_bp": 700},
        {"tax_class": "gone", "starts_at": "2026-12-01T00:00:00Z", "rate_bp": 9900},
    ]
    prices = {
        "wine": {
            "product_id": "wine",
            "sku": "WINE",
            "name": "Wine",
            "category_id": None,
            "price_minor": 1299,
            "currency": "EUR",
            "tax_class": "standard",
        },
        "bread": {
            "product_id": "bread",
            "sku": "BREAD",
            "name": "Bread",
            "category_id": None,
            "price_minor": 350,
            "currency": "EUR",
            "tax_class": "reduced",
        },
    }
    moments = [
        ("second-before-new-year", "2026-12-31T22:59:59Z"),
        ("new-year-midnight", "2026-12-31T23:00:00Z"),
        ("second-after-new-year", "2026-12-31T23:00:01Z"),
        ("second-before-july", "2027-06-30T21:59:59Z"),
        ("july", "2027-06-30T22:00:00Z"),
    ]
    cases = []
    for include in (True, False):
        for name, at in moments:
            cases.append(
                {
                    "name": f"date-switch-{name}-{'incl' if include else 'excl'}",
                    "at": at,
                    "policy": {
                        "tax_rates_bp": {"standard": 2000, "reduced": 500},
                        "tax_schedule": schedule,
                        "prices_include_tax": include,
                        "rounding_mode": "half_up",
                        "cash_rounding_minor": 0,
                        "discount_approval_bp": 2000,
                    },
                    "prices": prices,
                    "lines": [
                        {"product_id": "wine", "qty": 3, "discount": None},
                        {"product_id": "bread", "qty": 2, "discount": None},
                    ],
                    "cart_discount": None,
                    "tender_plan": "exact",
                }
            )
    return cases


def build() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    cases = [random_case(rng, n) for n in range(COUNT)] + handpicked() + date_switches()
    return [run_case(case, rng) for case in cases]


def render(vectors: list[dict[str, Any]]) -> str:
    document = {
        "about": "Generated by scripts/pricing_vectors.py from pos_sales.domain; do not edit. pricing.ts must give exactly these figures.",
        "seed": SEED,
        "vectors": vectors,
    }
    # One vector a line: small enough to commit, a regenerated file diffs by vector.
    body = ",\n".join(json.dumps(v, sort_keys=True, separators=(",", ":")) for v in document.pop("vectors"))
    head = json.dumps(document, sort_keys=True)[:-1]
    return f'{head}, "vectors": [\n{body}\n]}}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run .venv/bin/python scripts/pricing_vectors.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {len(json.loads(text)['vectors'])} vectors to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
