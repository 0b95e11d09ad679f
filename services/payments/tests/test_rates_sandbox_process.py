"""The rates sandbox in its own process, over real HTTP on the loopback, as the local
stack runs it, and payments pointed at it by URL: rates cached; the sandbox down ->
the cached rates are used with their age; answering garbage, 5xx or too slowly -> the
cached rates are used and the failure is logged and shown; a stale sheet and no manual
rate -> the API says stale and that foreign cash is refused, and why."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_platform.bus import InProcessBus
from pos_platform.testing import free_port, log_records, mint_token

DOCUMENT = "/stats/eurofxref/eurofxref-daily.xml"


class SandboxProcess:
    def __init__(self, port: int, date: str) -> None:
        self.port = port
        self.date = date
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pos_payments.rates_sandbox",
                "--port",
                str(self.port),
                "--date",
                self.date,
                "--rates",
                "USD=1.0812,GBP=0.85130,CHF=0.93120",
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the rates sandbox did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # down at once, as a crash: a graceful stop would wait for a slow answer
            self.proc.wait(10)
        self.proc = None

    def script(self, **failure: object) -> None:
        httpx.put(f"{self.base}/sandbox/failure", json=failure, timeout=2).raise_for_status()

    def set_rates(self, date: str, rates: dict[str, str]) -> None:
        httpx.put(f"{self.base}/sandbox/rates", json={"date": date, "rates": rates}, timeout=2).raise_for_status()


def days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    process = SandboxProcess(free_port(), days_ago(1))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path], sandbox: SandboxProcess) -> Iterator[TestClient]:
    private, public = keys
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/payments.db",
        jwt_public_key_file=str(public),
        rates_provider="sandbox",
        rates_sandbox_url=sandbox.base + DOCUMENT,
        rates_refresh_interval_seconds=0,
        # Generous for a loaded machine: a loopback answer takes milliseconds.
        rates_timeout_seconds=2.0,
        rates_attempts=3,
        rates_backoff_seconds=0.05,
        rates_backoff_max_seconds=0.1,
    )
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        c.headers["Authorization"] = f"Bearer {mint_token(private, 'manager', ['outlet-a'], name='Maria Manager')}"
        yield c


@pytest.fixture
def rate_log() -> Iterator[list[logging.LogRecord]]:
    with log_records("pos.payments.rates") as records:
        yield records


def usd(client: TestClient) -> dict:
    body = client.get("/api/payments/rates", params={"base": "EUR"}).json()
    return next(r for r in body["rates"] if r["currency"] == "USD") | {"_feed": body["feed"]}


def test_down_garbage_5xx_and_slow_keep_the_cached_rates_and_say_why(
    client: TestClient, sandbox: SandboxProcess, rate_log: list[logging.LogRecord]
) -> None:
    assert client.post("/api/payments/rates/refresh").status_code == 200
    cached = usd(client)
    assert (cached["rate"], cached["source"], cached["reference_date"], cached["age_days"], cached["usable"]) == (
        "1.0812",
        "sandbox",
        days_ago(1),
        1,
        True,
    )

    # garbage: the cached rate stays, the failure is logged and shown
    sandbox.set_rates(days_ago(0), {"USD": "1.0900"})
    sandbox.script(mode="garbage", garbage="html")
    r = client.post("/api/payments/rates/refresh")
    assert r.status_code == 503 and "DTD" in r.json()["detail"] and f"cached rates of {days_ago(1)}" in r.json()["detail"]
    after = usd(client)
    assert (after["rate"], after["age_days"], after["usable"]) == ("1.0812", 1, True)
    assert "DTD" in after["_feed"]["last_error"]
    logged = [r for r in rate_log if r.getMessage() == "rates fetch attempt failed"]
    assert len(logged) == 3 and all("DTD" in vars(r)["error"] for r in logged)
    assert any(
        r.getMessage() == "rates refresh failed: the cached rates stay in use" and r.levelno == logging.ERROR for r in rate_log
    )

    # 5xx, then too slow for the timeout
    sandbox.script(mode="error", status=502)
    r = client.post("/api/payments/rates/refresh")
    assert r.status_code == 503 and "HTTP 502" in r.json()["detail"]
    sandbox.script(mode="slow", delay_seconds=30)
    started = time.monotonic()
    r = client.post("/api/payments/rates/refresh")
    assert r.status_code == 503 and "timeout" in r.json()["detail"]
    assert time.monotonic() - started < 20  # three bounded attempts, not three 30 s waits
    assert usd(client)["rate"] == "1.0812"

    # down: the process is gone, connections are refused
    sandbox.stop()
    r = client.post("/api/payments/rates/refresh")
    assert r.status_code == 503 and "cannot connect" in r.json()["detail"]
    down = usd(client)
    assert (down["rate"], down["reference_date"], down["age_days"], down["stale"], down["usable"]) == (
        "1.0812",
        days_ago(1),
        1,
        False,
        True,
    )
    assert down["_feed"]["failures_in_a_row"] == 4

    # back up, with a newer sheet: refreshed
    sandbox.start()
    sandbox.set_rates(days_ago(0), {"USD": "1.0900"})
    assert client.post("/api/payments/rates/refresh").json()["reference_date"] == days_ago(0)
    assert (usd(client)["rate"], usd(client)["age_days"], usd(client)["_feed"]["failures_in_a_row"]) == ("1.0900", 0, 0)


def test_a_failure_only_for_the_first_attempts_is_ridden_out_by_the_retries(client: TestClient, sandbox: SandboxProcess) -> None:
    sandbox.script(mode="drop", times=2)  # the connection closed mid-answer, twice
    r = client.post("/api/payments/rates/refresh")
    assert r.status_code == 200, r.text
    state = httpx.get(f"{sandbox.base}/sandbox/state").json()
    assert (state["requests"], state["served"]) == (3, 1)
    assert usd(client)["rate"] == "1.0812"


def test_stale_rates_and_no_manual_rate_mean_foreign_cash_is_refused_with_the_reason(
    client: TestClient, sandbox: SandboxProcess
) -> None:
    sandbox.set_rates(days_ago(9), {"USD": "1.0700", "GBP": "0.8400"})
    assert client.post("/api/payments/rates/refresh").json()["stale"] is True
    stale = usd(client)
    assert (stale["rate"], stale["age_days"], stale["stale"], stale["usable"]) == ("1.0700", 9, True, False)
    assert stale["detail"] == (
        f"the EUR->USD rate is from {days_ago(9)}, 9 days old (stale after 3), and no manager has set a manual rate: "
        "foreign cash in USD is refused until the rates are refreshed or a manager sets a rate"
    )
    gbp_usd = client.get("/api/payments/rates/GBP/USD").json()
    assert (gbp_usd["stale"], gbp_usd["usable"]) == (True, False) and "foreign cash in GBP/USD is refused" in gbp_usd["detail"]

    # the feed is down as well; a manager sets a rate: usable, audited
    sandbox.stop()
    r = client.post(
        "/api/payments/rates/manual",
        json={"base": "EUR", "quote": "USD", "rate": "1.0750", "reason": "ECB feed down, bank rate at 9:00"},
    )
    assert r.status_code == 201 and r.json()["usable"] and r.json()["source"] == "manual"
    manual = usd(client)
    assert (manual["rate"], manual["source"], manual["stale"], manual["usable"]) == ("1.0750", "manual", False, True)
    assert manual["manual"]["set_by_name"] == "Maria Manager"
    assert manual["feed"]["rate"] == "1.0700" and manual["feed"]["age_days"] == 9
