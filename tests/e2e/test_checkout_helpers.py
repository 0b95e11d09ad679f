"""What the checkout and refund tests on the local stack share: the card sandbox as its
own process, a shop (outlet, cashier, manager with a PIN, products in stock) made
through the gateway, and ways to look at the sandbox's charges. Its own test checks
that payments on the stack really charges cards through this sandbox.

The sandbox: if POS_CARD_SANDBOX_URL is set, the sandbox there is used (started here if
nothing answers); otherwise one is started on the gateway port + 50 and the variable is
exported before the stack starts, so the stack's payments service points at it
(scripts/stack.py passes the environment through).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.polling import eventually
from tests.stack_fixture import Stack, stack_args

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_KEY = {"Authorization": "Bearer sk_test_e2e"}
_sandbox: dict[str, Any] = {}


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def gateway_port() -> int:
    args = stack_args()
    return int(args[args.index("--gateway-port") + 1])


def _start_sandbox(url: str) -> subprocess.Popen[bytes]:
    port = url.rsplit(":", 1)[1].split("/")[0]
    (ROOT / "var").mkdir(exist_ok=True)  # a fresh clone has none until the stack starts
    log = (ROOT / "var" / f"card-sandbox-{port}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pos_payments.sandbox", "--port", port],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    atexit.register(stop)
    deadline = time.monotonic() + 20
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the card sandbox did not start on {url} (log: var/card-sandbox-{port}.log)")
        time.sleep(0.1)
    return proc


def ensure_card_sandbox() -> str:
    """The card sandbox's URL, started (once per test session) if nothing answers there."""
    if "url" in _sandbox:
        return _sandbox["url"]
    url = os.environ.get("POS_CARD_SANDBOX_URL") or f"http://127.0.0.1:{gateway_port() + 50}"
    if not _answers(url):
        _sandbox["proc"] = _start_sandbox(url)
    os.environ["POS_CARD_PROVIDER"] = "sandbox"
    os.environ["POS_CARD_SANDBOX_URL"] = url
    _sandbox["url"] = url
    return url


def _stack_sandbox_pid() -> int | None:
    """The pid of the card sandbox the test stack started itself (scripts/stack.py)."""
    args = stack_args()
    pid_file = Path(args[args.index("--state-dir") + 1]) / "pids" / "card-sandbox.pid"
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def kill_card_sandbox() -> None:
    """The card processor goes away (kill -9): connections to it are refused. Either the
    sandbox these tests started, or the one the test stack started (`make test` runs the
    browser tests first, whose stack brings its own)."""
    url = ensure_card_sandbox()
    proc: subprocess.Popen[bytes] | None = _sandbox.get("proc")
    if proc is not None:
        proc.kill()
        proc.wait(10)
    else:
        pid = _stack_sandbox_pid()
        if pid is None:
            raise RuntimeError(
                f"the card sandbox at {url} was started neither by these tests nor by the test stack: it cannot be stopped here"
            )
        os.killpg(pid, signal.SIGKILL)
        _sandbox["stack_owned"] = True
        deadline = time.monotonic() + 10
        while _answers(url) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not _answers(url)


def restart_card_sandbox() -> None:
    """The card processor is back, on the same address (with no memory of earlier charges)."""
    url = ensure_card_sandbox()
    if _answers(url):  # already back (a test restarted it before its fixture's finalizer)
        _sandbox.pop("stack_owned", None)
        return
    if _sandbox.pop("stack_owned", False):
        # As the stack starts it (stack.py leaves it alone while this variable names one).
        env = {k: v for k, v in os.environ.items() if k != "POS_CARD_SANDBOX_URL"}
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), "restart", "card-sandbox", *stack_args()], env=env, check=True
        )
        assert _answers(url), f"the stack's card sandbox did not come back on {url}"
        return
    proc: subprocess.Popen[bytes] | None = _sandbox.get("proc")
    if proc is not None and proc.poll() is None:
        return
    _sandbox["proc"] = _start_sandbox(url)


@pytest.fixture(scope="session")
def checkout_stack(request: pytest.FixtureRequest) -> Stack:
    """The local stack, with payments pointed at the card sandbox (started first)."""
    ensure_card_sandbox()
    return request.getfixturevalue("local_stack")


def sandbox_intents(payment_id: str) -> list[dict[str, Any]]:
    """The sandbox's PaymentIntents for one payment (found by the metadata payments sets)."""
    response = httpx.get(
        f"{ensure_card_sandbox()}/v1/payment_intents/search",
        params={"query": f"metadata['pos_payment_id']:'{payment_id}'"},
        headers=SANDBOX_KEY,
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["data"]


def sandbox_refunds(intent_id: str) -> list[dict[str, Any]]:
    """The sandbox's refunds of one PaymentIntent (Stripe's GET /v1/refunds?payment_intent=)."""
    response = httpx.get(
        f"{ensure_card_sandbox()}/v1/refunds", params={"payment_intent": intent_id}, headers=SANDBOX_KEY, timeout=10
    )
    response.raise_for_status()
    return response.json()["data"]


@dataclass
class Shop:
    """An outlet of its own with staff and stock, made through the gateway."""

    stack: Stack
    admin: httpx.Client
    outlet: dict[str, Any]
    cashier: httpx.Client
    cashier_id: str
    manager: httpx.Client
    manager_id: str
    manager_pin: str
    products: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_product(self, key: str, price_minor: int, stock: int, tax_class: str = "standard") -> dict[str, Any]:
        suffix = uuid.uuid4().hex[:8]
        created = self.admin.post(
            "/api/catalog/products",
            json={
                "sku": f"CO-{key}-{suffix}",
                "name": f"{key.title()} {suffix}",
                "price_minor": price_minor,
                "tax_class": tax_class,
                "barcodes": [],
            },
        )
        assert created.status_code == 201, created.text
        product = created.json()
        if stock:
            received = self.admin.post(
                "/api/inventory/receipts",
                json={"outlet_id": self.outlet["id"], "lines": [{"product_id": product["id"], "qty": stock}], "reference": "e2e"},
            )
            assert received.status_code == 201, received.text
        eventually(lambda: self.admin.get(f"/api/sales/prices/{product['id']}").status_code == 200, "the price replica")
        self.products[key] = product
        return product

    def add_register(self, name: str) -> dict[str, Any]:
        """A register of the shop's outlet, made in identity (sales learns of it from
        RegisterChanged; a sale on it right away waits the moment that takes)."""
        created = self.admin.post(
            "/api/identity/registers", json={"outlet_id": self.outlet["id"], "name": f"{name} {uuid.uuid4().hex[:6]}"}
        )
        assert created.status_code == 201, created.text
        return created.json()

    def sale(self, lines: list[tuple[str, int]], tenders: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "outlet_id": self.outlet["id"],
            "lines": [{"product_id": self.products[key]["id"], "qty": qty} for key, qty in lines],
            "tenders": tenders,
            **extra,
        }

    def level(self, key: str) -> dict[str, Any]:
        return self.admin.get(f"/api/inventory/stock/{self.outlet['id']}/{self.products[key]['id']}").raise_for_status().json()

    def ledger(self, reference: str) -> list[dict[str, Any]]:
        return self.admin.get("/api/inventory/ledger", params={"reference": reference}).raise_for_status().json()

    def approval(self, action: str, subject: str | None = None) -> str:
        """The manager enters their PIN at the till: identity answers an approval token."""
        body = {"action": action, "outlet_id": self.outlet["id"], "approver_id": self.manager_id, "pin": self.manager_pin}
        if subject:
            body["subject"] = subject
        response = self.cashier.post("/api/identity/approvals", json=body)
        assert response.status_code == 201, response.text
        return response.json()["approval_token"]


def make_shop(stack: Stack, currency: str = "EUR") -> Shop:
    admin = stack.client(stack.login())
    suffix = uuid.uuid4().hex[:8]
    outlet = (
        admin.post("/api/identity/outlets", json={"name": f"Checkout {suffix}", "currency": currency}).raise_for_status().json()
    )
    people = {}
    for role, pin in (("cashier", "1357"), ("manager", "2580")):
        body = {
            "email": f"co-{role}-{suffix}@example.com",
            "name": f"Checkout {role}",
            "password": f"{role}-password-{suffix}",
            "role": role,
            "outlets": [outlet["id"]],
            "pin": pin,
        }
        created = admin.post("/api/identity/users", json=body)
        assert created.status_code == 201, created.text
        people[role] = (created.json()["id"], stack.client(stack.login(body["email"], body["password"])), pin)
    return Shop(
        stack=stack,
        admin=admin,
        outlet=outlet,
        cashier=people["cashier"][1],
        cashier_id=people["cashier"][0],
        manager=people["manager"][1],
        manager_id=people["manager"][0],
        manager_pin=people["manager"][2],
    )


def test_payments_on_the_stack_charges_cards_through_the_sandbox(checkout_stack: Stack) -> None:
    shop = make_shop(checkout_stack)
    shop.add_product("probe", 500, 5)
    with shop.cashier as cashier:
        assert cashier.get("/api/payments/provider").json() == {"card_provider": "sandbox"}
        body = shop.sale([("probe", 1)], [{"kind": "card", "amount_minor": 500, "card_token": "pm_card_visa"}])
        response = cashier.post("/api/sales", json=body)
    assert response.status_code == 201, response.text
    intents = sandbox_intents(body["id"])
    assert [(i["amount"], i["status"]) for i in intents] == [(500, "succeeded")], (
        "payments did not charge through the card sandbox at "
        f"{ensure_card_sandbox()}: was the stack started before POS_CARD_SANDBOX_URL was set?"
    )
