"""The crash test: a sales process is killed between the payment's capture and the sale's
completion (the test-only fault POS_FAULT_CRASH_AFTER_CAPTURE makes it exit right
there). After a restart its reconciler asks payments, finds the payment captured and
completes the sale, once: one SaleCompleted, stock deducted once, the card charged once.

The crashing process is a sales instance of its own, outside the stack's two replicas
but on the stack's database, broker vhost and gateway (so it is one more replica of the
same service), started from this test on the gateway port + 51.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_checkout_helpers import ROOT, Shop, checkout_stack, eventually, gateway_port, make_shop, sandbox_intents  # noqa: F401 (fixture)
from tests.stack_fixture import Stack, stack_args

pytestmark = pytest.mark.e2e


def sales_env(stack: Stack, **extra: str) -> dict[str, str]:
    args = stack_args()
    prefix, vhost = args[args.index("--db-prefix") + 1], args[args.index("--vhost") + 1]
    db_host = os.environ.get("POS_STACK_DB_HOST", "127.0.0.1")
    rabbit_host = os.environ.get("POS_STACK_RABBIT_HOST", "127.0.0.1")
    return {
        **os.environ,
        "POS_ENVIRONMENT": "development",
        "POS_DATABASE_URL": f"mysql+pymysql://root@{db_host}:3306/{prefix}sales",
        "POS_BUS": "rabbitmq",
        "POS_RABBITMQ_URL": f"amqp://guest:guest@{rabbit_host}:5672/{vhost}",
        "POS_JWT_PUBLIC_KEY_FILE": str(stack.state_dir / "keys" / "jwt-public.pem"),
        "POS_INVENTORY_URL": stack.base_url,
        "POS_PAYMENTS_URL": stack.base_url,
        "POS_INSTANCE_ID": "sales-crash-test",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class SalesProcess:
    def __init__(self, stack: Stack, port: int) -> None:
        self.stack = stack
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = ROOT / "var" / f"sales-crash-{port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> None:
        with Path(self.log).open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "pos_sales.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=sales_env(self.stack, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
            )

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"sales exited early (log: {self.log})"
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2).json().get("ready") is True
            except (httpx.HTTPError, ValueError):
                return False

        eventually(ready, "the crash-test sales process", timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def sales_process(checkout_stack: Stack) -> Iterator[SalesProcess]:
    process = SalesProcess(checkout_stack, gateway_port() + 51)
    yield process
    process.stop()


def test_sales_killed_between_capture_and_completion_completes_once_after_restart(
    checkout_stack: Stack,
    sales_process: SalesProcess,
) -> None:
    shop: Shop = make_shop(checkout_stack)
    product = shop.add_product("crash", 990, 10)
    body = shop.sale([("crash", 2)], [{"kind": "card", "amount_minor": 1980, "card_token": "pm_card_visa"}])

    sales_process.start(POS_FAULT_CRASH_AFTER_CAPTURE="1")
    with (
        httpx.Client(
            base_url=sales_process.url, headers={"Authorization": shop.cashier.headers["Authorization"]}, timeout=60
        ) as direct,
        pytest.raises(httpx.TransportError),
    ):
        direct.post("/api/sales", json=body)
    assert sales_process.proc is not None
    assert sales_process.proc.wait(15) == 70  # it died where the fault said, not elsewhere

    # Killed after the capture: the money is taken, the sale is still pending, the stock only reserved.
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert payment["status"] == "captured"
    assert shop.cashier.get(f"/api/sales/{body['id']}").json()["status"] == "PENDING"
    assert shop.level("crash")["reserved"] == 2 and shop.ledger(body["id"]) == []

    started = time.monotonic()
    sales_process.start(POS_RECONCILE_AFTER_SECONDS="1", POS_RECONCILE_INTERVAL_SECONDS="0.5")
    sale = eventually(
        lambda: (s := shop.cashier.get(f"/api/sales/{body['id']}").json())["status"] == "COMPLETED" and s,
        "the reconciler to complete the sale",
    )
    assert time.monotonic() - started < 30  # the restarted process did it, not the stack's 45 s sweep
    assert sale["receipt_number"] and sale["total_minor"] == 1980
    eventually(lambda: shop.cashier.get(f"/api/sales/{body['id']}").json()["fulfilment"] == "fulfilled", "fulfilment")

    # Once: one deduction, one charge; and nothing more arrives later.
    time.sleep(2.0)
    assert [(row["kind"], row["delta"]) for row in shop.ledger(body["id"])] == [("sale", -2)]
    level = shop.level("crash")
    assert (level["on_hand"], level["reserved"]) == (8, 0)
    assert [i["amount_received"] for i in sandbox_intents(body["id"])] == [1980]
    # The till's retry of the same sale now gets the completed sale's receipt.
    again = shop.cashier.post("/api/sales", json=body)
    assert again.status_code == 201 and again.json()["receipt_number"] == sale["receipt_number"]
    assert product["id"] in [line["product_id"] for line in again.json()["lines"]]
