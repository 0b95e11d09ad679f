"""Stock rules. Plain Python, no I/O."""

from __future__ import annotations

LEDGER_KINDS = ("sale", "receipt", "adjustment", "count", "return", "transfer_out", "transfer_in")


def crossed_reorder_point(before: int, after: int, reorder_point: int) -> bool:
    """Low stock is announced once, when the level falls to or below the reorder point,
    not on every later movement below it."""
    return reorder_point > 0 and before > reorder_point >= after


def merge_lines(lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Sum quantities per product and sort by product id: rows are always locked in the
    same order, so concurrent reservations cannot deadlock each other."""
    totals: dict[str, int] = {}
    for product_id, qty in lines:
        totals[product_id] = totals.get(product_id, 0) + qty
    return sorted(totals.items())
