"""The card provider down during card sales, and a sale retried after its reservation was
released (the oversell of issue 12)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults import driver
from tests.faults.conftest import PORT_BASE, ROOT, STATE_DIR, FaultStack
from tests.faults.servers import port_open

pytestmark = pytest.mark.faults


async def test_card_sandbox_killed_during_card_sales(scenario, fault_stack: FaultStack) -> None:
    """Every card sale ends completed exactly once, or failed with nothing charged; none
    holds stock after failing. The sandbox keeps its charges in memory, so they are read
    just before it is killed and again at the end (a charge counted twice means twice
    within one life of the sandbox)."""
    snapshot: dict[str, Any] = {}

    async def fault(load: driver.Load) -> float:
        await asyncio.sleep(3)
        snapshot.update(await driver.sandbox_intents(fault_stack.sandbox_url))
        load.fault_begins()
        await asyncio.to_thread(fault_stack.kill, "card-sandbox")
        await asyncio.sleep(8)
        await asyncio.to_thread(fault_stack.restart, "card-sandbox")
        return time.monotonic()

    verdict = await scenario(
        "card sandbox killed", fault, max_sales=48, card_share=1.0, think=0.5, settle_timeout=75, charges_before=lambda: snapshot
    )
    assert not verdict.problems(), verdict.line()


class DetachedSales:
    """One more sales process on the fault stack (its database, broker vhost and gateway),
    except that its payments URL refuses connections: "payments unreachable, nothing was
    charged" for whatever it checks out. Started as scripts/stack.py starts sales."""

    def __init__(self, fault_stack: FaultStack, port: int, dead_port: int) -> None:
        assert not port_open(dead_port), f"port {dead_port} must have nothing listening"
        self.url = f"http://127.0.0.1:{port}"
        self.log = STATE_DIR / "logs" / f"sales-detached-{port}.log"
        env = fault_stack.service_env("sales", POS_PAYMENTS_URL=f"http://127.0.0.1:{dead_port}", POS_INSTANCE_ID="sales-detached")
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
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the detached sales process exited (log: {self.log})"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).json().get("ready") is True:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"the detached sales process did not get ready (log: {self.log})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def detached_sales(fault_stack: FaultStack) -> Iterator[DetachedSales]:
    process = DetachedSales(fault_stack, PORT_BASE + 35, PORT_BASE + 39)
    yield process
    process.stop()


async def test_retried_sale_after_its_reservation_was_released_does_not_oversell(
    fault_stack: FaultStack, detached_sales: DetachedSales
) -> None:
    """Sale X reserves the last unit of a `block` product; payments is unreachable, so X
    fails retryably (503, nothing charged) and its reservation is released; sale Y takes
    the unit; the till posts X again with the same id: X must be refused (409, short of
    stock), never completed, and on_hand never goes below 0."""
    fault_stack.wait_ready()
    token = fault_stack.login()
    headers = {"Authorization": f"Bearer {token}"}
    shop = await driver.make_shop(fault_stack.base_url, token, products=1)
    async with httpx.AsyncClient(base_url=fault_stack.base_url, headers=headers, timeout=30.0, trust_env=False) as http:
        product = shop.products[0]
        # Only one unit of it, and a `block` policy (the default, set here to be plain).
        level = (
            await http.put(
                "/api/inventory", json={"outlet_id": shop.outlet_id, "product_id": product.id, "on_hand": 1, "reason": "count"}
            )
        ).json()
        assert level["on_hand"] == 1, level
        assert (await http.put(f"/api/inventory/products/{product.id}/policy", json={"oversell": "block"})).status_code == 200
        shop.initial = {product.id: 1}
        load = driver.Load(fault_stack.base_url, token, shop)
        load.started = time.monotonic()

        def sale_body() -> dict[str, Any]:
            return {
                "id": str(uuid.uuid4()),
                "outlet_id": shop.outlet_id,
                "lines": [{"product_id": product.id, "qty": 1}],
                "tenders": [{"kind": "cash", "amount_minor": 100 * product.price_minor}],
            }

        x = driver.TillSale(0, sale_body(), issued_at=time.monotonic())
        y = driver.TillSale(1, sale_body(), issued_at=time.monotonic())
        load.sales = [x, y]

        # X through the replica whose payments hop is refused.
        async with httpx.AsyncClient(base_url=detached_sales.url, headers=headers, timeout=30.0, trust_env=False) as direct:
            first = await direct.post("/api/sales", json=x.body)
        x.attempts.append(driver.Attempt(time.monotonic(), first.status_code, first.text[:120]))
        assert first.status_code == 503 and first.json().get("status") != "PENDING", (
            f"precondition: X should fail retryably with payments unreachable, got {first.status_code} {first.text[:300]}"
        )
        load.fault_begins()
        reservation = (await http.get(f"/api/inventory/reservations/{x.id}")).json()
        # Y takes the unit.
        answer_y = await http.post("/api/sales", json=y.body)
        y.attempts.append(driver.Attempt(time.monotonic(), answer_y.status_code))
        y.final, y.answer, y.answered_at = answer_y.status_code, answer_y.json(), time.monotonic()
        # The till posts X again, same id (retrying a 5xx 2-4 s apart, as the driver's tills do).
        deadline = time.monotonic() + 30
        while True:
            again = await http.post("/api/sales", json=x.body)
            x.attempts.append(driver.Attempt(time.monotonic(), again.status_code, again.text[:120]))
            if again.status_code < 500 or time.monotonic() > deadline:
                break
            await asyncio.sleep(3)
        if again.status_code < 500:
            x.final, x.answer, x.answered_at = again.status_code, again.json(), time.monotonic()
        healed = time.monotonic()
        settled = await driver.settle(http, shop, healed + 30)
        dead_letters = await driver.dead_letter_totals(http)
        dlq = await asyncio.to_thread(fault_stack.dead_letter_queues)
        verdict = await driver.check(
            http,
            "retried sale after release",
            load,
            healed_at=healed,
            settled_at=settled,
            dead_letters_before=dead_letters,
            dlq_before=dlq,
            dlq_after=dlq,
            expect_no_dead_letters=False,
        )
        level_after = (await http.get(f"/api/inventory/stock/{shop.outlet_id}/{product.id}")).json()
        x_server = (await http.get(f"/api/sales/{x.id}")).json()
        x_ledger = (await http.get("/api/inventory/ledger", params={"reference": x.id})).json()
        verdict.checks["y_completed"] = y.final == 201
        verdict.checks["x_refused_409"] = x.final == 409
        verdict.checks["x_not_completed"] = x_server.get("status") != "COMPLETED" and not x_ledger
        verdict.checks["on_hand_never_below_0"] = level_after["on_hand"] >= 0
        verdict.notes["x"] = {
            "reservation_after_first_post": reservation.get("status"),
            "answers": [a.status for a in x.attempts],
            "server_status": x_server.get("status"),
            "ledger_rows": len(x_ledger),
        }
        verdict.notes["stock_after"] = {"on_hand": level_after["on_hand"], "reserved": level_after["reserved"]}
    driver.record(verdict)
    assert not verdict.problems(), verdict.line()
