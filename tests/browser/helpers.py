"""What the browser tests share: how amounts look on screen, waiting for text, a cart
line, a stock level through the API, the dashboard opened by a manager, a CSV download,
the page's overflow on a small screen."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import Server, Tab


def euros(minor: int) -> str:
    """How the app shows EUR amounts in the tests' en-IE locale: €12.34 (-€0.50)."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}€{minor // 100:,}.{minor % 100:02d}"


def expect_text(locator: Any, pattern: str, timeout: float = 20_000) -> None:
    """Wait until the locator's text matches `pattern` (a regular expression)."""
    from playwright.sync_api import expect

    expect(locator).to_contain_text(re.compile(pattern), timeout=timeout)


def line(page: Any, product_id: str) -> Any:
    """The till's cart line of a product."""
    return page.locator(f'[data-testid=cart-line][data-product-id="{product_id}"]')


def on_hand(server: Server, token: str, outlet_id: str, product_id: str) -> int:
    with server.client(token) as http:
        response = http.get(f"/api/inventory/stock/{outlet_id}/{product_id}")
        response.raise_for_status()
        return response.json()["on_hand"]


def dashboard(tab: Tab, who: tuple[str, str], panel: str) -> Any:
    """Log in as a manager (who lands on the dashboard) and wait for the panel (its test id)."""
    page = tab.login(*who)
    page.locator("#reports-title").wait_for()
    page.get_by_test_id(panel).wait_for()
    return page


def csv_download(page: Any, button: Any) -> tuple[str, list[dict[str, str]]]:
    """Click the button that saves a CSV: the file's name and its rows."""
    with page.expect_download() as info:
        button.click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))


def overflow(page: Any) -> int:
    """How many pixels the page is wider than its viewport (0 or less: nothing runs off the side)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
# What fails a page: axe-core's two worst impacts (issue 17: "fail on serious or critical").
BLOCKING = ("serious", "critical")


def accessibility_problems(page: Any, where: str) -> list[str]:
    """axe-core (web/node_modules, from the web app's devDependencies) run on the page as
    it is now: each serious or critical violation as a line naming the rule, what it asks
    and the first elements that break it. Loaded through the DevTools protocol (as
    Playwright evaluates), so the app's Content-Security-Policy is left as it is."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " -> " + (n.failureSummary || "").replace(/\\s+/g, " ")),
            }));
        }"""
    )
    return [
        f"{where}: {v['impact']} {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
        for v in found
        if v["impact"] in BLOCKING
    ]
