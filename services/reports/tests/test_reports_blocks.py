"""Product blocks (pos_reports.blocks): a range is covered by the blocks inside it
exactly once, and the product report over every outlet (read from the blocks) equals
the one summed from each outlet's own day rows, for ranges of every alignment."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from pos_platform.consumer import EventConsumer
from pos_reports.blocks import EPOCH, cover, length
from services.reports.tests.workload import OUTLETS, history

Get = Callable[..., Any]


def test_a_cover_holds_each_day_of_the_range_once_and_no_other() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        first = date(2024, 1, 1) + timedelta(days=rng.randrange(1100))
        last = first + timedelta(days=rng.choice([0, 6, 13, 29, 30, 89, 364, 365, rng.randrange(366)]))
        steps: Counter[date] = Counter()
        blocks = cover(first, last)
        for level, start in blocks:
            assert (start - EPOCH).days % length(level) == 0, "blocks are aligned"
            # Each block counts from its first day and stops after its last.
            steps[start] += 1
            steps[start + timedelta(days=length(level))] -= 1
        assert {d: n for d, n in steps.items() if n} == {first: 1, last + timedelta(days=1): -1}, (first, last, blocks)
        assert len(blocks) <= 3 * 2 * 4 + 2, "at most three blocks a level at each end"


@pytest.fixture
def workload(consumer: EventConsumer) -> None:
    for env in history():
        consumer.handle(env)


def _by_product(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    figures = ("qty", "gross_minor", "discount_minor", "tax_minor", "cost_minor", "refund_qty", "refund_minor", "margin_minor")
    return {(r["product_id"], r["currency"]): {f: r[f] for f in figures} for r in rows}


def test_every_outlet_from_the_blocks_equals_the_outlets_summed_from_their_days(workload: None, get: Get) -> None:
    rng = random.Random(5)
    spans = [("2026-01-01", "2026-03-31"), ("2026-01-05", "2026-01-05"), ("2026-02-01", "2026-02-28")]
    for _ in range(25):
        first = date(2026, 1, 1) + timedelta(days=rng.randrange(85))
        spans.append((first.isoformat(), (first + timedelta(days=rng.randrange(1, 60))).isoformat()))
    compared = 0
    for date_from, date_to in spans:
        span = {"date_from": date_from, "date_to": date_to, "limit": 1000}
        # Every outlet: the blocks. One outlet at a time: that outlet's rows per day.
        chain = _by_product(get("sales/items", role="admin", outlets=[], **span)["rows"])
        summed: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for outlet_id, _, _ in OUTLETS:
            for key, figures in _by_product(
                get("sales/items", role="admin", outlets=[], outlet_id=outlet_id, **span)["rows"]
            ).items():
                for name, value in figures.items():
                    summed[key][name] += value
        assert chain == {k: dict(v) for k, v in summed.items()}, (date_from, date_to)
        compared += len(chain)
    assert compared > 200  # the ranges held sales
