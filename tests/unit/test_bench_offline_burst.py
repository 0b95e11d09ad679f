"""scripts/bench_offline_burst.py: the pure parts (offline sales priced as the till prices
them, the queue rows, the rates and profile summaries)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pos_sales.schemas import OfflineSaleIn
from tests.unit.scriptload import load_script

burst = load_script("bench_offline_burst")

SETTINGS = {
    "currency": "EUR",
    "tax_rates_bp": {"standard": 2000, "reduced": 1000, "zero": 0},
    "prices_include_tax": True,
    "rounding_mode": "half_up",
    "cash_rounding_minor": 5,
    "discount_approval_bp": 2000,
}


def shop() -> object:
    items = [
        burst.Item(
            f"00000000-0000-4000-8000-{n:012d}", f"SKU-{n}", f"Item {n}", 49 + 97 * n, ["standard", "reduced", "zero"][n % 3]
        )
        for n in range(8)
    ]
    return burst.BurstShop("outlet-1", [burst.Register("register-1", 7, "Till 07")], [("a@example.com", "x")], items, SETTINGS)


def test_offline_sales_add_up_as_the_server_checks_them() -> None:
    s = shop()
    rows = burst.offline_queue(random.Random(3), s, s.registers[0], 200)
    assert [r["body"]["receipt_number"] for r in rows[:2]] == ["R7-OFF000001", "R7-OFF000002"]
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)  # oldest first
    discounted = exact = 0
    for row in rows:
        body = row["body"]
        OfflineSaleIn.model_validate(body)  # totals, tax, tenders and change add up (or it raises)
        assert row["id"] == body["id"] and row["status"] == "pending" and row["attempts"] == 0
        assert (body["total_minor"] + body["rounding_minor"]) % 5 == 0  # the outlet's cash rounding
        assert all(line["category_id"] is None for line in body["lines"])  # as the till's cart lines
        discounted += any(line["discount_minor"] for line in body["lines"])
        exact += body["change_minor"] == 0
    assert 0 < discounted < len(rows)
    assert 0 < exact < len(rows)  # exact cash, or a note with change


def test_sold_at_is_written_as_javascript_writes_it() -> None:
    assert burst.iso_ms(datetime(2026, 12, 7, 5, 1, 2, 345678, tzinfo=UTC)) == "2026-12-07T05:01:02.345Z"


def test_steady_rate_counts_only_while_every_till_sends() -> None:
    start = datetime(2026, 12, 7, 5, 0, 0, tzinfo=UTC)

    def at(seconds: float) -> str:
        return (start + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    by_register = {"a": [at(t) for t in range(1, 21)], "b": [at(5 + t) for t in range(0, 30)]}
    # The last link came back at 5 s; till a finished at 20 s: 16 + 16 sales in 15 s.
    rate, window = burst.steady_rate(by_register, start, [0.0, 5.0])
    assert window == 15.0 and rate == round(32 / 15, 1)


def test_profile_summary_counts_self_and_the_projects_frames() -> None:
    collapsed = "\n".join(
        [
            "main (app.py:1);handle (pos_sales/routes.py:10);execute (sqlalchemy/engine.py:5) 3",
            "main (app.py:1);handle (pos_sales/routes.py:10) 1",
            "main (app.py:1);idle (asyncio/base.py:2) 4",
        ]
    )
    found = burst.summarize_profile(collapsed)
    assert found["samples"] == 8
    assert found["self"][0] == ("idle (base.py:2)", 50.0)
    assert found["project_inclusive"] == [("handle (sales/routes.py:10)", 50.0)]
