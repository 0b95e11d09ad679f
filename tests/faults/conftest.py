"""The fault suite's session: its own MariaDB (13306) and RabbitMQ node
(pos-faults@localhost, 5683), and a local stack (scripts/stack.py) on them with its own
state directory, ports (gateway 19080, services from 19100), databases (pos_faults_*)
and vhost (pos_faults). Everything is stopped at the end, whatever happened."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest

from tests.faults import driver
from tests.faults.servers import MARIADB_PORT, RABBIT_NODE, RABBIT_PORT, VAR, PrivateMariaDB, PrivateRabbitMQ, pid_alive
from tests.unit.scriptload import load_script

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / "var" / "test-stack-faults"
GATEWAY_PORT = 19080
PORT_BASE = 19100
DB_PREFIX = "pos_faults_"
VHOST = "pos_faults"
STACK_ARGS = [
    "--state-dir",
    str(STATE_DIR),
    "--gateway-port",
    str(GATEWAY_PORT),
    "--port-base",
    str(PORT_BASE),
    "--db-prefix",
    DB_PREFIX,
    "--vhost",
    VHOST,
]

# The services' settings on the fault stack: the defaults, except that a sale left
# PENDING is reconciled after 20 s instead of 45 s so that the suite fits CI's budget.
SERVICE_ENV = {"POS_RECONCILE_AFTER_SECONDS": "20", "POS_CARD_PROVIDER": "sandbox"}


@dataclass
class FaultStack:
    db: PrivateMariaDB
    mq: PrivateRabbitMQ
    env: dict[str, str]
    base_url: str = f"http://127.0.0.1:{GATEWAY_PORT}"
    sandbox_url: str = f"http://127.0.0.1:{PORT_BASE + 30}"
    vhost: str = VHOST
    amqp_url: str = f"amqp://guest:guest@127.0.0.1:{RABBIT_PORT}/{VHOST}"

    def stack(self, command: str, *extra: str, check: bool = True) -> None:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), command, *extra, *STACK_ARGS], env=self.env, check=check
        )

    def login(self) -> str:
        fields = dict(
            line.split(": ", 1) for line in (STATE_DIR / "admin-credentials.txt").read_text().splitlines() if ": " in line
        )
        response = httpx.post(
            f"{self.base_url}/api/identity/login", json={"email": fields["email"], "password": fields["password"]}, timeout=30
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def pid(self, name: str) -> int:
        return int((STATE_DIR / "pids" / f"{name}.pid").read_text().strip())

    def kill(self, name: str) -> None:
        """kill -9 one process of the stack (a replica, or the card sandbox)."""
        pid = self.pid(name)
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, name: str) -> None:
        """Start it again as scripts/stack.py starts it (and wait until it is ready)."""
        self.stack("restart", name)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Every replica answers /readyz with ready (a scenario starts on a healthy stack)."""
        offsets = {"identity": [1], "catalog": [2], "inventory": [3, 13], "sales": [4, 14], "payments": [5], "reports": [6]}
        ports = [PORT_BASE + o for os_ in offsets.values() for o in os_]
        deadline = time.monotonic() + timeout
        waiting = ports
        while waiting and time.monotonic() < deadline:
            waiting = [p for p in waiting if not _ready(p)]
            if waiting:
                time.sleep(0.5)
        assert not waiting, f"stack replicas not ready on ports {waiting} (logs: {STATE_DIR / 'logs'})"

    def dead_letter_queues(self) -> dict[str, int]:
        return {q: n["messages"] for q, n in self.mq.queues(self.vhost).items() if q.endswith(".dlq")}

    def service_env(self, service: str, **extra: str) -> dict[str, str]:
        """The environment scripts/stack.py gives a process of `service` on this stack."""
        with mock.patch.dict(os.environ, self.env, clear=True):
            stack = load_script("stack")
            cfg = stack.config_from(
                argparse.Namespace(
                    state_dir=str(STATE_DIR),
                    gateway_port=GATEWAY_PORT,
                    port_base=PORT_BASE,
                    db_prefix=DB_PREFIX,
                    vhost=VHOST,
                    replicas=None,
                )
            )
            return {**stack.service_env(cfg, service), **extra}


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json().get("ready") is True
    except (httpx.HTTPError, ValueError):
        return False


def stack_env() -> dict[str, str]:
    # Nothing of another stack's settings (the e2e fixture exports its card sandbox's URL).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POS_", "RABBITMQ_"))}
    return (
        env
        | SERVICE_ENV
        | {
            "POS_STACK_DB_HOST": "127.0.0.1",
            "POS_STACK_DB_PORT": str(MARIADB_PORT),
            "POS_STACK_RABBIT_HOST": "127.0.0.1",
            "POS_STACK_RABBIT_PORT": str(RABBIT_PORT),
            "POS_STACK_RABBIT_NODE": RABBIT_NODE,
        }
    )


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    VAR.mkdir(parents=True, exist_ok=True)
    db, mq = PrivateMariaDB(), PrivateRabbitMQ()
    stack = FaultStack(db, mq, stack_env())
    started = time.monotonic()
    try:
        stack.stack("down", check=False)  # whatever an interrupted run left
        db.install()
        db.start()
        mq.prepare()
        mq.start()
        stack.stack("up", "--fresh")
        print(f"[faults] private MariaDB, RabbitMQ and the stack ready in {time.monotonic() - started:.1f} s", flush=True)
        yield stack
    finally:
        stack.stack("down", check=False)
        try:
            mq.stop()
        finally:
            db.stop()


@pytest.fixture
def scenario(fault_stack: FaultStack) -> Callable[..., Awaitable[driver.Verdict]]:
    """Runs one scenario: a fresh outlet and products, the tills, the fault (an async
    function that returns when the fault is healed, with the moment it was), settling,
    the check, the Jepsen line."""

    async def run(
        name: str,
        fault: driver.Fault,
        *,
        max_sales: int = 200,
        card_share: float = 0.0,
        think: float = 0.15,
        settle_timeout: float = 60.0,
        tail: float = 3.0,
        expect_no_dead_letters: bool = True,
        charges_before: Callable[[], dict[str, Any]] | None = None,
        after: Callable[[driver.Verdict], Awaitable[None]] | None = None,
    ) -> driver.Verdict:
        await asyncio.to_thread(fault_stack.wait_ready)
        token = await asyncio.to_thread(fault_stack.login)
        shop = await driver.make_shop(fault_stack.base_url, token)
        async with httpx.AsyncClient(
            base_url=fault_stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0, trust_env=False
        ) as http:
            dead_letters_before = await driver.dead_letter_totals(http)
            dlq_before = await asyncio.to_thread(fault_stack.dead_letter_queues)
            load = driver.Load(fault_stack.base_url, token, shop, max_sales=max_sales, card_share=card_share, think=think)
            healed: dict[str, float] = {}

            async def inject() -> None:
                try:
                    healed["at"] = await fault(load)
                finally:
                    healed.setdefault("at", time.monotonic())
                    load.deadline = healed["at"] + settle_timeout
                await asyncio.sleep(tail)
                load.stop_issuing()

            await asyncio.gather(load.run(float("inf")), inject())
            settled_at = await driver.settle(http, shop, healed["at"] + settle_timeout)
            dlq_after = await asyncio.to_thread(fault_stack.dead_letter_queues)
            verdict = await driver.check(
                http,
                name,
                load,
                healed_at=healed["at"],
                settled_at=settled_at,
                dead_letters_before=dead_letters_before,
                dlq_before=dlq_before,
                dlq_after=dlq_after,
                sandbox_url=fault_stack.sandbox_url if card_share else None,
                charges_before=charges_before() if charges_before else None,
                expect_no_dead_letters=expect_no_dead_letters,
            )
            if after is not None:
                await after(verdict)
        driver.record(verdict)
        return verdict

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if driver.LINES:
        terminalreporter.section("fault suite (test-results/faults.json)")
        for line in driver.LINES:
            terminalreporter.write_line(line)
