"""The till opens with no network once it has been opened (issue 15): the service worker
(web/vite.config.ts, generateSW) precaches the app shell; API requests are never
answered from a cache."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import Tab

pytestmark = pytest.mark.browser


def test_app_shell_opens_offline_after_one_visit(open_tab: Callable[..., Tab]) -> None:
    tab = open_tab(1280, 800)
    page = tab.open("/")
    page.get_by_label("Email").wait_for()
    # The worker installs (precaching the shell) and takes control of the page.
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=30_000)
    cached = page.evaluate(
        """async () => {
            const names = await caches.keys();
            const urls = [];
            for (const name of names) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
            return urls;
        }"""
    )
    assert "/index.html" in cached, cached
    assert any(u.startswith("/assets/") and u.endswith(".js") for u in cached), cached
    assert "/manifest.webmanifest" in cached, cached
    assert not any(u.startswith("/api/") for u in cached), cached

    tab.context.set_offline(True)
    try:
        # A reload, a deep link (client-side route) and the till's start URL all open the
        # shell from the cache (each a new document: "/#/till" comes after another path).
        for path in (None, "/office/products", "/#/till"):
            response = page.reload() if path is None else page.goto(tab.base_url + path)
            assert response is not None and response.ok and response.from_service_worker, path
            page.get_by_label("Email").wait_for()
            page.get_by_role("button", name="Log in").wait_for()
            assert page.title() == "POS"
        # The API is network only: offline it fails, it is never served from a cache.
        api = page.evaluate(
            """async () => {
                try { const r = await fetch('/api/identity/healthz'); return 'answered ' + r.status; }
                catch (e) { return 'failed'; }
            }"""
        )
        assert api == "failed"
    finally:
        tab.context.set_offline(False)

    # Back online, the API answers again (straight from the network).
    status = page.evaluate("async () => (await fetch('/api/identity/healthz', {cache: 'no-store'})).status")
    assert status == 200
