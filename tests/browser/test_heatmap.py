"""The dashboard's "Busiest times" heat map (weekday x hour) in a real browser, as a
manager deciding whom to staff when would read it.

The fixture makes an outlet of its own in UTC (so a sale rung now lands on today's UTC
weekday and hour, as the browser's UTC "today" sees it), a manager of that outlet only,
and a few sales rung through the API, and waits for the reports to hold them. The cell
must show the number of sales divided by the number of such weekdays in the default
30-day range (a weekday without sales counts as 0), and the sentence under the title
must name that slot."""

from __future__ import annotations

import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import csv_download, dashboard, euros, overflow

pytestmark = pytest.mark.browser

PRICE = 250  # €2.50, tax included
SALES = 7  # one item each, all rung now
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Busy:
    """An outlet of our own with sales rung now, and its manager."""

    manager: tuple[str, str]
    outlet_id: str
    rows: list[dict[str, Any]]  # the reports' day x hour rows of those sales


@pytest.fixture(scope="module")
def busy(server: Server) -> Busy:
    suffix = uuid.uuid4().hex[:6].upper()
    admin = server.client(server.token(server.admin_email, server.admin_password))
    with admin:
        made = admin.post("/api/identity/outlets", json={"name": f"Heat Bakery {suffix}", "currency": "EUR", "timezone": "UTC"})
        assert made.status_code == 201, made.text
        outlet_id = made.json()["id"]
        assert made.json()["timezone"] == "UTC"
        email = f"heat-manager-{suffix.lower()}@example.com"
        password = f"{secrets.token_urlsafe(12)}-Aa1"
        user = admin.post(
            "/api/identity/users",
            json={"email": email, "name": "Hana Manager", "password": password, "role": "manager", "outlets": [outlet_id]},
        )
        assert user.status_code == 201, user.text
        product = stocked_product(
            admin,
            outlet_id,
            {"sku": f"HEAT-{suffix}", "name": f"Sourdough {suffix}", "price_minor": PRICE, "tax_class": "reduced"},
            SALES + 3,
            "heat map tests",
        )
        eventually(lambda: admin.get(f"/api/sales/prices/{product['id']}").status_code == 200, "sales to know the product")
        for _ in range(SALES):
            sale = admin.post(
                "/api/sales",
                json={
                    "id": str(uuid.uuid4()),
                    "outlet_id": outlet_id,
                    "lines": [{"product_id": product["id"], "qty": 1}],
                    "tenders": [{"kind": "cash", "amount_minor": PRICE}],
                },
            )
            assert sale.status_code == 201, sale.text

    with server.client(server.token(email, password)) as http:

        def held() -> list[dict[str, Any]] | None:
            report = http.get("/api/reports/sales/hourly", params={"by": "day_hour", "outlet_id": outlet_id})
            rows = report.json()["rows"]
            return rows if sum(r["sales_count"] for r in rows) == SALES else None

        rows = eventually(held, "the day x hour report to hold the sales")
    return Busy((email, password), outlet_id, rows)


def weekday_counts(first: date, last: date) -> list[int]:
    """How many Mondays .. Sundays the days first..last (both included) hold."""
    counts = [0] * 7
    day = first
    while day <= last:
        counts[day.weekday()] += 1
        day += timedelta(days=1)
    return counts


def average(value: Decimal) -> str:
    """An average as the dashboard shows it: one decimal at most, half up (en-IE)."""
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP).normalize():f}"


def expected_cells(rows: list[dict[str, Any]], today: date) -> dict[tuple[int, int], tuple[str, int]]:
    """(weekday, hour) -> (average sales as shown, average gross in cents) over the
    dashboard's default range: the 30 days up to today."""
    first = today - timedelta(days=29)
    counts = weekday_counts(first, today)
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        day = date.fromisoformat(r["day"])
        assert first <= day <= today, f"a sale rung now on {day}, outside {first}..{today}"
        sums[(day.weekday(), r["hour"])][0] += r["sales_count"]
        sums[(day.weekday(), r["hour"])][1] += r["gross_minor"]
    return {
        key: (average(Decimal(n) / counts[key[0]]), int((Decimal(gross) / counts[key[0]]).quantize(Decimal(1), ROUND_HALF_UP)))
        for key, (n, gross) in sums.items()
    }


def slot(hour: int) -> str:
    return f"{hour:02d}:00\u2013{(hour + 1) % 24:02d}:00"  # an en dash


@pytest.mark.parametrize(("width", "height", "name"), [(375, 812, "phone"), (1280, 800, "desktop")])
def test_busiest_slot_is_the_average_per_weekday(
    open_tab: Callable[..., Tab], busy: Busy, screenshots: Path, width: int, height: int, name: str
) -> None:
    from playwright.sync_api import expect

    page = dashboard(open_tab(width, height), busy.manager, "heat-panel")
    # The browser runs in UTC (conftest's Tab): its "today" is UTC's, as is the outlet's.
    today = datetime.now(UTC).date()
    cells = expected_cells(busy.rows, today)
    (weekday, hour), (sales, gross) = max(cells.items(), key=lambda kv: (Decimal(kv[1][0]), kv[1][1], -kv[0][0], -kv[0][1]))

    panel = page.get_by_test_id("heat-panel")
    expect(panel.get_by_role("heading", name="Busiest times")).to_be_visible()
    table = panel.get_by_role("table", name="Average number of sales by weekday and hour")
    for (w, h), (n, g) in cells.items():
        cell = table.locator(f'[data-testid=heat-cell][data-weekday="{w}"][data-hour="{h}"]')
        expect(cell).to_have_text(n)
        words = f"{WEEKDAYS[w]} {slot(h)}: {n} {'sale' if n == '1' else 'sales'}, {euros(g)} on average"
        expect(cell).to_have_attribute("aria-label", words)
        expect(cell).to_have_attribute("title", words)
    # Every weekday of the 30 days is a row; only the hours that sold are columns.
    expect(table.get_by_role("rowheader")).to_have_count(7)
    expect(table.locator("thead th")).to_have_count(1 + len({h for _, h in cells}))
    expect(panel.get_by_test_id("heat-busiest")).to_have_text(
        f"Busiest: {WEEKDAYS[weekday]} {slot(hour)}, {sales} {'sale' if sales == '1' else 'sales'} on average"
    )
    expect(panel.get_by_test_id("heat-legend")).to_contain_text(f"from 0 to {sales} sales")

    # Shaded by gross instead: the same cell shows the average gross, the legend says so.
    gross_button = panel.get_by_role("button", name="Gross", exact=True)
    gross_button.click()
    expect(gross_button).to_have_attribute("aria-pressed", "true")
    expect(panel.get_by_role("table", name="Average gross sales by weekday and hour")).to_be_visible()
    busiest = panel.locator(f'[data-testid=heat-cell][data-weekday="{weekday}"][data-hour="{hour}"]')
    expect(busiest).to_have_text(re.compile(r"€\d"))
    expect(panel.get_by_test_id("heat-legend")).to_contain_text(f"from 0 to {euros(gross)}")
    panel.get_by_role("button", name="Sales", exact=True).click()
    expect(busiest).to_have_text(sales)

    # Nothing runs off the side of the screen.
    wider = overflow(page)
    assert wider <= 0, f"the dashboard is {wider}px wider than the {width}px screen"
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"dashboard-heatmap-{name}.png"), full_page=True)

    # Its CSV: the day x hour rows, the same sales.
    name, rows = csv_download(page, panel.get_by_role("button", name="CSV by weekday and hour"))
    assert name.startswith("sales-day-hour_")
    assert {(r["day"], int(r["hour"]), int(r["sales_count"])) for r in rows} == {
        (r["day"], r["hour"], r["sales_count"]) for r in busy.rows
    }


def test_a_whole_day_of_hours_scrolls_inside_its_card_on_a_phone(open_tab: Callable[..., Tab], busy: Busy) -> None:
    """The real sales fill one hour; the answer is widened here to every hour of the day
    (a quiet sale at 00:00 and at 23:00 yesterday), so the phone must scroll the table
    inside its card and not widen the page."""
    from playwright.sync_api import Route, expect

    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()

    def widen(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        for hour in (0, 23):
            body["rows"].append({**body["rows"][0], "day": yesterday, "hour": hour, "sales_count": 1, "gross_minor": PRICE})
        route.fulfill(response=answer, json=body)

    tab = open_tab(375, 812)
    tab.page.route(re.compile(r"/api/reports/sales/hourly\?.*by=day_hour"), widen)
    page = dashboard(tab, busy.manager, "heat-panel")
    panel = page.get_by_test_id("heat-panel")
    expect(panel.locator("thead th")).to_have_count(1 + 24)
    panel.scroll_into_view_if_needed()

    sizes = page.evaluate(
        """() => {
            const scroller = document.querySelector('[data-testid=heat-scroll]');
            const card = document.querySelector('[data-testid=heat-panel]');
            return {
                page: document.documentElement.scrollWidth,
                screen: window.innerWidth,
                inner: scroller.scrollWidth,
                box: scroller.clientWidth,
                card: card.getBoundingClientRect().right,
            };
        }"""
    )
    assert sizes["page"] <= sizes["screen"], f"the page is wider than the phone: {sizes}"
    assert sizes["card"] <= sizes["screen"], f"the card runs off the screen: {sizes}"
    assert sizes["inner"] > sizes["box"], f"the 24 hours should scroll inside the card: {sizes}"
    # Scrolled to the last hour, the weekdays stay in view.
    page.get_by_test_id("heat-scroll").evaluate("(el) => { el.scrollLeft = el.scrollWidth; }")
    expect(panel.locator('[data-testid=heat-cell][data-weekday="0"][data-hour="23"]')).to_be_in_viewport()
    expect(panel.get_by_role("rowheader").first).to_be_in_viewport()
