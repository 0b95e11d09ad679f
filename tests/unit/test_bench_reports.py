"""scripts/bench_reports.py: the pure parts (nearest-rank percentile, sliding ranges)."""

from __future__ import annotations

from tests.unit.scriptload import load_script

bench = load_script("bench_reports")


def test_p99_of_a_hundred_samples_is_the_99th_slowest() -> None:
    samples = [float(n) for n in range(100, 0, -1)]
    assert bench.percentile(samples, 99) == 99.0
    assert bench.percentile(samples, 50) == 50.0
    assert bench.percentile([4.0], 99) == 4.0


def test_slide_moves_the_whole_range_back_and_leaves_stock_reports_alone() -> None:
    span = {"date_from": "2026-11-06", "date_to": "2026-12-05", "format": "csv"}
    assert bench.slid(span, 0, 60) == span
    assert bench.slid(span, 61, 60) == {"date_from": "2026-11-05", "date_to": "2026-12-04", "format": "csv"}
    assert bench.slid(span, 59, 60) == {"date_from": "2026-09-08", "date_to": "2026-10-07", "format": "csv"}
    assert bench.slid(span, 7, 1) == span  # --slide 1: always the one range
    assert bench.slid({"velocity_days": 14}, 5, 60) == {"velocity_days": 14}
