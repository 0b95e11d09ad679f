"""Browser tests: Debian's Chromium driven by Playwright (never `playwright install`).

Where the POS runs:
- POS_BROWSER_BASE_URL=stack: the local stack of tests/stack_fixture.py (nginx gateway,
  every service, MariaDB, RabbitMQ), started once per session with the e2e tests.
- POS_BROWSER_BASE_URL=<url> (e.g. a gateway already running): that server; the admin
  log-in comes from POS_BROWSER_ADMIN_EMAIL + POS_BROWSER_ADMIN_PASSWORD or from
  POS_BROWSER_CREDENTIALS_FILE (an admin-credentials.txt).
- otherwise: `python -m pos_embedded` on a free port with a temporary data directory,
  started here and stopped after the session (web/dist must be built: `make web`).

Either way the tests make their own outlet, users and products through the API, so they
never depend on demo data and can run again and again against one server.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_platform.testing import free_port
from tests.polling import eventually

ROOT = Path(__file__).resolve().parents[2]
WEB_DIST = ROOT / "web" / "dist"
SCREENSHOTS = Path(os.environ.get("POS_BROWSER_SCREENSHOTS", ROOT / "test-results" / "screenshots"))
CHROMIUM = os.environ.get("POS_BROWSER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(message: str) -> None:
    """Skip on a developer's machine; fail under CI=true, where nothing may be skipped."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: browser tests may not be skipped)", pytrace=False)
    pytest.skip(message)


def read_credentials(path: Path) -> dict[str, str]:
    """admin-credentials.txt: `email: ...`, `password: ...`, then `<email>: <password>` lines."""
    return dict(line.split(": ", 1) for line in path.read_text().splitlines() if ": " in line)


def ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body12)))
    return body12 + str((10 - total % 10) % 10)


def stocked_product(admin: httpx.Client, outlet_id: str, product: dict[str, Any], stock: int, reference: str) -> dict[str, Any]:
    """Create a product (the catalog's JSON body) and receive `stock` of it at the outlet;
    the created product's JSON."""
    created = admin.post("/api/catalog/products", json=product)
    assert created.status_code == 201, created.text
    made = created.json()
    received = admin.post(
        "/api/inventory/receipts",
        json={"outlet_id": outlet_id, "lines": [{"product_id": made["id"], "qty": stock}], "reference": reference},
    )
    assert received.status_code == 201, received.text
    return made


@dataclass(frozen=True)
class Server:
    base_url: str
    admin_email: str
    admin_password: str
    # Where the server's mail goes (the SMTP sink's folder of .eml files), when known:
    # the local stack's sink, or the one started here beside the embedded server.
    mail_dir: Path | None = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def token(self, email: str, password: str) -> str:
        with self.client() as http:
            response = http.post("/api/identity/login", json={"email": email, "password": password})
            assert response.status_code == 200, f"log-in of {email} failed: {response.status_code} {response.text}"
            return response.json()["access_token"]


def _server_from_env(base_url: str) -> Server:
    email = os.environ.get("POS_BROWSER_ADMIN_EMAIL")
    password = os.environ.get("POS_BROWSER_ADMIN_PASSWORD")
    if not (email and password) and os.environ.get("POS_BROWSER_CREDENTIALS_FILE"):
        fields = read_credentials(Path(os.environ["POS_BROWSER_CREDENTIALS_FILE"]))
        email, password = fields["email"], fields["password"]
    if not (email and password):
        pytest.fail(
            "POS_BROWSER_BASE_URL is set: also set POS_BROWSER_ADMIN_EMAIL and POS_BROWSER_ADMIN_PASSWORD, "
            "or POS_BROWSER_CREDENTIALS_FILE (e.g. var/stack/admin-credentials.txt)",
            pytrace=False,
        )
    return Server(base_url.rstrip("/"), email, password)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Server]:
    base_url = os.environ.get("POS_BROWSER_BASE_URL")
    if base_url == "stack":
        # The repo's own local stack (tests/stack_fixture.py: every service, MariaDB,
        # RabbitMQ, nginx), shared with the e2e tests of the same session.
        stack = request.getfixturevalue("local_stack")
        yield Server(stack.base_url, stack.admin_email, stack.admin_password, stack.state_dir / "mail")
        return
    if base_url:
        yield _server_from_env(base_url)
        return
    if not (WEB_DIST / "index.html").exists():
        pytest.fail("web/dist is not built: run `make web` (or `cd web && npm ci && npm run build`)", pytrace=False)
    data_dir = tmp_path_factory.mktemp("pos-embedded")
    port = free_port()
    log_path = data_dir / "server.log"
    # Receipts by e-mail go to an SMTP sink of our own (scripts/mail_sink.py, its own process).
    mail_dir, mail_port = data_dir / "mail", free_port()
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "mail_sink.py"), "--port", str(mail_port), "--dir", str(mail_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mail_env = {
        "POS_SMTP_HOST": "127.0.0.1",
        "POS_SMTP_PORT": str(mail_port),
        "POS_SMTP_TLS": "none",
        "POS_SMTP_FROM": "receipts@pos.localhost",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pos_embedded",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--web-root",
                str(WEB_DIST),
                "--no-demo",
            ],
            cwd=ROOT,
            env={**os.environ, **mail_env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        credentials = data_dir / "admin-credentials.txt"

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"pos_embedded exited ({process.returncode}):\n{log_path.read_text()[-4000:]}")
            return (
                credentials.exists()
                and "password: " in credentials.read_text()
                and httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            )

        eventually(ready, "the embedded server to start", timeout=90)
        fields = read_credentials(credentials)
        yield Server(base, fields["email"], fields["password"], mail_dir)
    finally:
        sink.terminate()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass(frozen=True)
class Product:
    id: str
    sku: str
    name: str
    price_minor: int
    barcode: str
    stock: int


@dataclass(frozen=True)
class Shop:
    """One outlet of our own, its cashier and manager, and products with known stock."""

    outlet_id: str
    outlet_name: str
    cashier: tuple[str, str]
    manager: tuple[str, str]
    scanned: Product  # sold by scanning its barcode
    searched: Product  # sold by searching its SKU
    scarce: Product  # only 2 in stock: the out-of-stock refusal
    extra: Product  # for the screenshots


@pytest.fixture(scope="session")
def shop(server: Server) -> Shop:
    suffix = uuid.uuid4().hex[:6].upper()
    admin = server.client(server.token(server.admin_email, server.admin_password))
    with admin:
        outlet = admin.post("/api/identity/outlets", json={"name": f"Quay Café {suffix}", "currency": "EUR"})
        assert outlet.status_code == 201, outlet.text
        outlet = outlet.json()
        people = {}
        for role in ("cashier", "manager"):
            email = f"browser-{role}-{suffix.lower()}@example.com"
            password = f"{secrets.token_urlsafe(12)}-Aa1"
            created = admin.post(
                "/api/identity/users",
                json={
                    "email": email,
                    "name": f"Sam {role.title()}",
                    "password": password,
                    "role": role,
                    "outlets": [outlet["id"]],
                },
            )
            assert created.status_code == 201, created.text
            people[role] = (email, password)
        category = admin.post("/api/catalog/categories", json={"name": f"Café {suffix}"})
        assert category.status_code == 201, category.text
        made = {}
        for key, name, price, stock in (
            ("scanned", "Oat flat white", 340, 10),
            ("searched", "Earl Grey tea", 250, 10),
            ("scarce", "Lemon tart", 395, 2),
            ("extra", "Almond croissant", 285, 12),
        ):
            sku = f"BRW-{suffix}-{key.upper()}"
            barcode = ean13("2" + str(secrets.randbelow(10**11)).zfill(11))
            product = stocked_product(
                admin,
                outlet["id"],
                {
                    "sku": sku,
                    "name": name,
                    "barcodes": [barcode],
                    "category_id": category.json()["id"],
                    "price_minor": price,
                    "tax_class": "reduced",
                },
                stock,
                "browser tests",
            )
            made[key] = Product(product["id"], sku, name, price, barcode, stock)
        # Sales prices from its own replica of the catalog, filled by events: wait for it.
        for product in made.values():
            eventually(
                lambda p=product: admin.get(f"/api/sales/prices/{p.id}").status_code == 200, f"sales to know {product.name}"
            )
    return Shop(outlet["id"], outlet["name"], people["cashier"], people["manager"], **made)


# Package scope: Playwright's sync API keeps an event loop running while it is open, which
# would stop the asyncio tests of later folders (integration) from starting theirs.
@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium not found at {CHROMIUM} (Debian: apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is missing (pip install playwright; never `playwright install`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Tab:
    """A fresh browser context (its own sessionStorage) with the app open, recording
    page errors and Content-Security-Policy violations (both fail the test)."""

    def __init__(self, browser: Any, server: Server, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="en-IE", timezone_id="UTC")
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        self.base_url = server.base_url

    def open(self, path: str = "/") -> Any:
        self.page.goto(self.base_url + path)
        return self.page

    def login(self, email: str, password: str) -> Any:
        page = self.open("/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Log out").wait_for()
        return page

    def close(self) -> None:
        self.context.close()
        assert not self.problems, "\n".join(self.problems)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def open_tab(chromium: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Callable[..., Tab]]:
    tabs: list[Tab] = []

    def make(width: int = 1280, height: int = 800) -> Tab:
        tab = Tab(chromium, server, width, height)
        tabs.append(tab)
        return tab

    yield make
    if request.node.stash.get(FAILED, False):
        # What the screen looked like when the test failed, for the CI artefacts.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, tab in enumerate(tabs):
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            try:
                tab.page.screenshot(path=str(SCREENSHOTS / f"failed-{name}-{n}.png"), full_page=True)
            except Exception as exc:  # the page may be gone
                print(f"no failure screenshot of tab {n}: {exc}")
    for tab in tabs:
        tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
