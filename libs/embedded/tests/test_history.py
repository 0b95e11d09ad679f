"""The demo history's plan (pos_embedded.history.plan): the same every time, busier at
lunch and on Saturdays, only past days, and never a day beyond the offline limit."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from pos_embedded.history import offline_body, plan, sold_per_product

ZONES = [ZoneInfo("Europe/Paris"), ZoneInfo("UTC")]
TODAY = date(2026, 12, 7)  # a Monday


def test_the_plan_is_deterministic_and_shaped_like_a_shop() -> None:
    sales = plan(28, TODAY, 36, ZONES)
    assert sales == plan(28, TODAY, 36, ZONES)
    assert len({s.id for s in sales}) == len(sales)
    days = {s.day for s in sales}
    assert min(days) == date(2026, 11, 9) and max(days) == date(2026, 12, 6)  # four weeks, not today
    first = [s for s in sales if s.outlet == 0]
    hours = Counter(s.sold_at.astimezone(ZONES[0]).hour for s in first)
    assert set(hours) <= set(range(8, 20))
    assert hours[12] > 1.5 * hours[9]  # lunch
    per_weekday = Counter(s.day.weekday() for s in first)
    assert per_weekday[5] > 1.4 * per_weekday[1]  # Saturdays against Tuesdays
    assert len(first) > len(sales) - len(first)  # the second outlet is the smaller
    sold = sold_per_product(sales)
    assert sum(sold[0].values()) == sum(q for s in first for _, q in s.lines)


def test_the_history_stays_within_the_offline_limit() -> None:
    with pytest.raises(ValueError, match="1 to 29 days"):
        plan(30, TODAY, 36, ZONES)


def test_a_history_sale_is_a_receipt_that_adds_up() -> None:
    from pos_embedded.history import Product
    from pos_sales.schemas import OfflineSaleIn

    products = [Product(f"p{i}", f"DEMO-{i:04d}", f"Item {i}", None, 100 + i * 37, "standard") for i in range(36)]
    settings = {"prices_include_tax": True, "tax_rates_bp": {"standard": 2000}, "cash_rounding_minor": 5, "currency": "EUR"}
    for number, sale in enumerate(plan(2, TODAY, 36, ZONES)[:20], start=1):
        body = offline_body(
            sale, number, products, outlet_id="o", register={"id": "r", "number": 1}, cashier_id=None, settings=settings
        )
        OfflineSaleIn.model_validate({**body, "id": sale.id})  # the server's own checks
        assert body["receipt_number"] == f"R1-OFF{900_000_000 + number}"
        assert (body["total_minor"] + body["rounding_minor"]) % 5 == 0
