"""Stock rules on their own (no database)."""

from pos_inventory.domain import count_difference, low_stock, merge_lines, suggested_order


def test_low_stock_is_announced_on_the_crossing_only() -> None:
    assert low_stock(on_hand=6, reorder_point=5, alerted=False).announce is False
    assert low_stock(on_hand=5, reorder_point=5, alerted=False) == low_stock(5, 5, False)
    assert low_stock(5, 5, False).announce and low_stock(5, 5, False).alerted
    assert not low_stock(2, 5, alerted=True).announce  # still low: said already
    assert low_stock(6, 5, alerted=True).alerted is False  # back above: re-armed
    assert low_stock(0, 0, False).announce is False  # no reorder point, no alert


def test_suggested_order_reaches_above_the_reorder_point() -> None:
    assert suggested_order(on_hand=2, reorder_point=5, reorder_qty=24) == 24
    assert suggested_order(on_hand=-3, reorder_point=5, reorder_qty=0) == 9
    assert suggested_order(on_hand=1, reorder_point=5, reorder_qty=2) == 5


def test_lines_are_merged_and_sorted_so_locks_come_in_one_order() -> None:
    assert merge_lines([("b", 1), ("a", 2), ("b", 3)]) == [("a", 2), ("b", 4)]


def test_a_count_moves_counted_minus_expected() -> None:
    assert count_difference(counted=7, expected=10) == -3
