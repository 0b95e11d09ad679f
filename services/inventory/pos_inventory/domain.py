"""Stock rules. Plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LowStock:
    """What a movement means for the low-stock alert."""

    announce: bool  # publish LowStockDetected now
    alerted: bool  # the flag to store with the new level


def low_stock(on_hand: int, reorder_point: int, alerted: bool) -> LowStock:
    """Low stock is announced once, when the level first falls to or below the reorder
    point (or the point is raised above it), not on every later movement below it; the
    next announcement needs the level to rise above the point first."""
    low = reorder_point > 0 and on_hand <= reorder_point
    return LowStock(announce=low and not alerted, alerted=low)


def suggested_order(on_hand: int, reorder_point: int, reorder_qty: int) -> int:
    """How many to order for a low line: the reorder quantity, or at least enough to
    rise above the reorder point."""
    return max(reorder_qty, reorder_point - on_hand + 1, 0)


def merge_lines(lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Sum quantities per product and sort by product id: rows are always locked in the
    same order, so concurrent reservations cannot deadlock each other."""
    totals: dict[str, int] = {}
    for product_id, qty in lines:
        totals[product_id] = totals.get(product_id, 0) + qty
    return sorted(totals.items())


def count_difference(counted: int, expected: int) -> int:
    """The movement a counted line posts: counted minus what was on hand when it was
    counted (so sales made while counting are not undone)."""
    return counted - expected
