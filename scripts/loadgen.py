#!/usr/bin/env python3
"""Checkout load generator: concurrent tills posting cash sales through the gateway.

    .venv/bin/python scripts/loadgen.py --tills 8 --duration 20
    .venv/bin/python scripts/loadgen.py --tills 32 --sales 2000 --json

It sets up its own fixture through the public API (an outlet "Loadgen <timestamp>",
--seed-products products with plenty of stock, then waits until sales knows every
price), runs one asyncio task per till (each with its own httpx.AsyncClient) posting
POST /api/sales with a fresh UUID per sale, and then, once the load has stopped:

- resolves every sale whose answer was not 201 (GET /api/sales/{id}: a timed-out sale
  may still have completed),
- waits until every completed sale is fulfilled (sales consumed StockDeducted),
- measures SaleCompleted -> StockDeducted lag from the inventory ledger
  (GET /api/inventory/ledger?reference=<sale id>: ledger created_at - receipt
  completed_at), and, during the run, from a low-rate sampler that polls
  GET /api/sales/{id} until fulfilment == "fulfilled",
- checks conservation: for every product, on_hand before - on_hand after equals the
  quantity sold in completed sales, nothing stays reserved, the ledger rows of every
  sale match its lines, sales and reports count the same sales as the tills.

SIGUSR1 ends the load early (as if --duration were up; the checks run as usual); a
line on stderr says when the load began.

Exit status: 0 when every check passed, 1 when one failed, 2 when the run could not
start (stack down, bad credentials, not a loopback address).

On the local stack (scripts/stack.py) it also reports the CPU used by every process
of the stack during the load (from /proc) and nginx's per-route timings (from the
gateway's JSON access log), which show the sales -> inventory/payments hops.
Only loopback addresses are accepted: this is a tool for the stack on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import random
import re
import resource
import signal
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / "var" / "stack"

# Safety bounds: every loop below ends by time or by count.
MAX_DURATION_SECONDS = 600.0
MAX_SALES = 1_000_000
STOCK_PER_PRODUCT = 100_000  # the inventory API's per-line maximum for a receipt
SAMPLER_POLL_SECONDS = 0.025  # the sampler's resolution (plus one GET's latency)
SAMPLER_PAUSE_SECONDS = 0.5  # between two followed sales: keeps the sampler near 10 GET/s
SAMPLER_SALE_TIMEOUT = 10.0
SANDBOX_CARD = "pm_card_visa"  # the card sandbox's always-approved test card


# --- pure helpers (unit-tested) ------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def parse_credentials(text: str) -> dict[str, str]:
    """`key: value` lines (var/stack/admin-credentials.txt)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def parse_utc(text: str) -> datetime:
    """An ISO 8601 UTC timestamp as the services write it ("...Z"); naive means UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Product:
    id: str
    price_minor: int


def make_sale(
    rng: random.Random, outlet_id: str, products: Sequence[Product], lines_max: int, qty_max: int = 3, *, card_share: float = 0.0
) -> dict[str, Any]:
    """A cart of 1..lines_max distinct random products, 1..qty_max each, paid by card
    (with probability `card_share`, through the stack's card sandbox) or in cash.

    A card pays exactly the total: the shelf prices include tax (the outlet's default)
    and the cart has no discount, so the total is the sum of price x qty. Cash: the till
    cannot know the total before sales prices it, so it hands over a generous amount;
    the receipt answers the change."""
    count = rng.randint(1, min(lines_max, len(products)))
    chosen = rng.sample(list(products), count)
    lines = [{"product_id": p.id, "qty": rng.randint(1, qty_max)} for p in chosen]
    if rng.random() < card_share:
        total = sum(p.price_minor * line["qty"] for p, line in zip(chosen, lines, strict=True))
        tender = {"kind": "card", "amount_minor": total, "card_token": SANDBOX_CARD}
    else:
        units = sum(line["qty"] for line in lines)
        tender = {"kind": "cash", "amount_minor": 10 * max(p.price_minor for p in products) * units or 1}
    return {"id": str(uuid.uuid4()), "outlet_id": outlet_id, "lines": lines, "tenders": [tender]}


def units_by_product(sales: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Quantity per product over posted sale bodies (their `lines`)."""
    units: dict[str, int] = defaultdict(int)
    for sale in sales:
        for line in sale["lines"]:
            units[line["product_id"]] += line["qty"]
    return dict(units)


@dataclass(frozen=True)
class Mismatch:
    product_id: str
    before: int
    after: int
    sold: int

    @property
    def moved(self) -> int:
        return self.before - self.after


def stock_mismatches(before: dict[str, int], after: dict[str, int], sold: dict[str, int]) -> list[Mismatch]:
    """Products whose on-hand did not move by exactly what was sold."""
    found = []
    for product_id in sorted(set(before) | set(after) | set(sold)):
        b, a, s = before.get(product_id, 0), after.get(product_id, 0), sold.get(product_id, 0)
        if b - a != s:
            found.append(Mismatch(product_id, b, a, s))
    return found


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def route_of(method: str, uri: str) -> str:
    """`POST /api/sales/1b4e...` -> `POST /api/sales/{id}` (query string dropped)."""
    path = uri.split("?", 1)[0]
    return f"{method} {_UUID.sub('{id}', path)}"


@dataclass
class RouteTimes:
    count: int = 0
    statuses: Counter = field(default_factory=Counter)
    total_ms: list[float] = field(default_factory=list)
    upstream_ms: list[float] = field(default_factory=list)


def summarize_access_log(lines: Iterable[str]) -> dict[str, RouteTimes]:
    """Per-route timings from the gateway's JSON access log (request_time is seconds
    with millisecond resolution; upstream_response_time may list several tries)."""
    routes: dict[str, RouteTimes] = defaultdict(RouteTimes)
    for raw in lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not str(entry.get("uri", "")).startswith("/api/"):
            continue
        times = routes[route_of(entry.get("method", "?"), entry["uri"])]
        times.count += 1
        times.statuses[int(entry.get("status", 0))] += 1
        times.total_ms.append(float(entry.get("request_time", 0)) * 1000)
        upstream = str(entry.get("upstream_response_time", ""))
        try:
            times.upstream_ms.append(sum(float(x) for x in re.split(r"[,:]\s*", upstream) if x and x != "-") * 1000)
        except ValueError:
            pass
    return dict(routes)


def lag_bounds(completed_at: str, ledger_times: Sequence[str]) -> tuple[float, float, bool]:
    """(low, high, truncated) in ms for SaleCompleted -> StockDeducted from one sale's
    ledger rows. A DATETIME without fractional seconds truncates the ledger time to
    the second, so the true lag lies in [low, high) = [t - c, t + 1 s - c)."""
    completed = parse_utc(completed_at)
    deducted = max(parse_utc(t) for t in ledger_times)
    truncated = all(parse_utc(t).microsecond == 0 for t in ledger_times)
    low = (deducted - completed).total_seconds() * 1000
    high = low + 1000 if truncated else low
    return max(low, 0.0), high, truncated


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


# --- /proc: CPU per stack process ----------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
WATCHED_COMMANDS = {"mariadbd": "mariadb", "mysqld": "mariadb", "beam.smp": "rabbitmq", "nginx": "nginx"}


def _proc_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime


def stack_processes(state_dir: Path) -> dict[int, str]:
    """pid -> label for the stack's services (pid files) and its servers (by name)."""
    found: dict[int, str] = {}
    for pid_file in sorted((state_dir / "pids").glob("*.pid")):
        try:
            found[int(pid_file.read_text().strip())] = pid_file.stem
        except (OSError, ValueError):
            continue
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in WATCHED_COMMANDS and int(entry.name) not in found:
            found[int(entry.name)] = WATCHED_COMMANDS[comm]
    return found


def rss_mib(processes: dict[int, str]) -> dict[str, float]:
    """Resident memory of each stack service process (pid files only), in MiB."""
    found = {}
    for pid, label in processes.items():
        if label in WATCHED_COMMANDS.values():
            continue
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[label] = round(int(line.split()[1]) / 1024, 1)
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_snapshot(processes: dict[int, str]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for pid, label in processes.items():
        seconds = _proc_cpu_seconds(pid)
        if seconds is not None:
            totals[label] += seconds
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["loadgen"] = usage.ru_utime + usage.ru_stime
    try:
        cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(v) for v in cpu]
        totals["_box_busy"] = (sum(values) - values[3] - values[4]) / _CLK_TCK  # minus idle, iowait
        totals["_box_total"] = sum(values) / _CLK_TCK
    except (OSError, ValueError, IndexError):
        pass
    return dict(totals)


# --- the run -------------------------------------------------------------------------


@dataclass
class SaleRecord:
    body: dict[str, Any]
    status: int | None = None  # HTTP status the till got; None: transport error
    error: str = ""
    latency_ms: float = 0.0
    completed_at: str | None = None
    total_minor: int = 0
    resolved: str = ""  # outcome found afterwards for sales not answered 201


@dataclass
class Run:
    args: argparse.Namespace
    outlet_id: str = ""
    products: list[Product] = field(default_factory=list)
    records: list[SaleRecord] = field(default_factory=list)
    issued: int = 0
    deadline: float = 0.0
    stopped: bool = False
    sampler_lags_ms: list[float] = field(default_factory=list)
    sampler_timeouts: int = 0
    failure_examples: dict[str, str] = field(default_factory=dict)
    wrong_change: int = 0

    def end_now(self) -> None:
        """Stop issuing sales (the tills finish the one in hand)."""
        self.deadline = min(self.deadline, time.monotonic())

    def take_ticket(self) -> bool:
        if self.stopped or time.monotonic() >= self.deadline:
            return False
        if self.args.sales is not None and self.issued >= self.args.sales:
            return False
        self.issued += 1
        return True


class SetupError(Exception):
    pass


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise SetupError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


async def login(http: httpx.AsyncClient, email: str, password: str) -> str:
    answer = _check(await http.post("/api/identity/login", json={"email": email, "password": password}), "log-in")
    return answer["access_token"]


async def gather_limited(coros: Iterable[Any], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with semaphore:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


async def setup(run: Run, http: httpx.AsyncClient) -> dict[str, int]:
    """Outlet, products, stock; waits until sales prices every product. Returns on_hand."""
    args = run.args
    rng = random.Random(args.seed)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    outlet = _check(
        await http.post("/api/identity/outlets", json={"name": f"Loadgen {stamp}", "currency": "EUR"}), "create outlet"
    )
    run.outlet_id = outlet["id"]
    tag = uuid.uuid4().hex[:8].upper()

    async def create(i: int) -> Product:
        body = {
            "sku": f"LG-{tag}-{i:04d}",
            "name": f"Loadgen item {i}",
            "price_minor": rng.randint(50, 2000),
            "tax_class": rng.choice(["standard", "reduced", "zero"]),
        }
        answer = _check(await http.post("/api/catalog/products", json=body), "create product")
        return Product(answer["id"], answer["price_minor"])

    run.products = list(await gather_limited((create(i) for i in range(1, args.seed_products + 1)), 8))
    levels = _check(
        await http.post(
            "/api/inventory/receipts",
            json={
                "outlet_id": run.outlet_id,
                "lines": [{"product_id": p.id, "qty": STOCK_PER_PRODUCT} for p in run.products],
                "reference": "loadgen",
            },
        ),
        "receive stock",
    )
    on_hand = {level["product_id"]: level["on_hand"] for level in levels}
    # Sales learns prices from ProductCreated events: wait until it knows every one.
    waiting = {p.id for p in run.products}
    deadline = time.monotonic() + args.settle_timeout

    async def known(product_id: str) -> str | None:
        response = await http.get(f"/api/sales/prices/{product_id}")
        return product_id if response.status_code == 200 else None

    while waiting and time.monotonic() < deadline:
        for product_id in await gather_limited((known(p) for p in sorted(waiting)), 8):
            waiting.discard(product_id)
        if waiting:
            await asyncio.sleep(0.2)
    if waiting:
        raise SetupError(f"sales did not learn the price of {len(waiting)} products within {args.settle_timeout:.0f} s")
    return on_hand


async def till(run: Run, number: int, headers: dict[str, str]) -> None:
    args = run.args
    rng = random.Random(None if args.seed is None else args.seed * 1000 + number)
    async with httpx.AsyncClient(
        base_url=args.base_url, headers=headers, timeout=httpx.Timeout(args.timeout, connect=5.0), trust_env=False
    ) as http:
        while run.take_ticket():
            body = make_sale(rng, run.outlet_id, run.products, args.lines_max, card_share=args.card_share)
            record = SaleRecord(body=body)
            run.records.append(record)
            started = time.perf_counter()
            try:
                response = await http.post("/api/sales", json=body)
            except httpx.HTTPError as exc:
                record.latency_ms = (time.perf_counter() - started) * 1000
                record.error = type(exc).__name__
                run.failure_examples.setdefault(record.error, repr(exc)[:300])
                continue
            record.latency_ms = (time.perf_counter() - started) * 1000
            record.status = response.status_code
            if response.status_code == 201:
                receipt = response.json()
                record.completed_at = receipt["completed_at"]
                record.total_minor = receipt["total_minor"]
                tender = body["tenders"][0]
                expected_change = tender["amount_minor"] - receipt["total_minor"] if tender["kind"] == "cash" else 0
                if receipt["change_minor"] != expected_change:
                    run.wrong_change += 1
            else:
                run.failure_examples.setdefault(str(response.status_code), response.text[:300])


async def sampler(run: Run, headers: dict[str, str]) -> None:
    """Low rate: follows one recent sale at a time until sales says it is fulfilled."""
    sampled: set[str] = set()
    async with httpx.AsyncClient(base_url=run.args.base_url, headers=headers, timeout=10.0, trust_env=False) as http:
        while not run.stopped:
            candidate = next((r for r in reversed(run.records[-50:]) if r.completed_at and r.body["id"] not in sampled), None)
            if candidate is None:
                await asyncio.sleep(SAMPLER_POLL_SECONDS)
                continue
            sampled.add(candidate.body["id"])
            give_up = time.monotonic() + SAMPLER_SALE_TIMEOUT
            while time.monotonic() < give_up:
                try:
                    response = await http.get(f"/api/sales/{candidate.body['id']}")
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code == 200 and response.json().get("fulfilment") == "fulfilled":
                    lag = (datetime.now(UTC) - parse_utc(candidate.completed_at)).total_seconds() * 1000
                    run.sampler_lags_ms.append(lag)
                    break
                await asyncio.sleep(SAMPLER_POLL_SECONDS)
            else:
                run.sampler_timeouts += 1
            await asyncio.sleep(SAMPLER_PAUSE_SECONDS)


async def resolve_unanswered(run: Run, http: httpx.AsyncClient) -> None:
    """A sale not answered 201 may still have completed (e.g. the till timed out)."""
    deadline = time.monotonic() + run.args.settle_timeout

    async def resolve(record: SaleRecord) -> None:
        while time.monotonic() < deadline:
            response = await http.get(f"/api/sales/{record.body['id']}")
            if response.status_code == 404:
                record.resolved = "NOT RECORDED"
                return
            if response.status_code == 200:
                answer = response.json()
                record.resolved = answer.get("status", "?")
                if record.resolved == "COMPLETED":
                    record.completed_at = answer.get("completed_at")
                    record.total_minor = answer.get("total_minor", 0)
                if record.resolved != "PENDING":
                    return
            await asyncio.sleep(0.5)
        record.resolved = record.resolved or "UNKNOWN"

    await gather_limited((resolve(r) for r in run.records if r.status != 201), 8)


async def server_sales(run: Run, http: httpx.AsyncClient) -> tuple[int, int]:
    """(completed sales the server holds for the outlet, how many are not fulfilled yet)."""
    total, unfulfilled, offset = None, 0, 0
    for _ in range(MAX_SALES // 500 + 1):
        page = _check(
            await http.get(
                "/api/sales", params={"outlet_id": run.outlet_id, "status": "COMPLETED", "limit": 500, "offset": offset}
            ),
            "list sales",
        )
        total = page["total"]
        unfulfilled += sum(1 for s in page["items"] if s["fulfilment"] != "fulfilled")
        offset += len(page["items"])
        if not page["items"] or offset >= total:
            break
    return total or 0, unfulfilled


async def wait_fulfilled(run: Run, http: httpx.AsyncClient) -> tuple[int, int, float]:
    started = time.monotonic()
    deadline = started + run.args.settle_timeout
    while True:
        total, unfulfilled = await server_sales(run, http)
        if unfulfilled == 0 or time.monotonic() >= deadline:
            return total, unfulfilled, time.monotonic() - started
        await asyncio.sleep(0.5)


async def ledger_lags(run: Run, http: httpx.AsyncClient, completed: list[SaleRecord]) -> dict[str, Any]:
    sample = completed
    if len(sample) > run.args.ledger_max:
        sample = random.Random(run.args.seed).sample(completed, run.args.ledger_max)
    low, high, missing, wrong = [], [], 0, 0
    truncated = True

    async def one(record: SaleRecord) -> None:
        nonlocal missing, wrong, truncated
        response = await http.get("/api/inventory/ledger", params={"reference": record.body["id"], "outlet_id": run.outlet_id})
        rows = [r for r in (response.json() if response.status_code == 200 else []) if r["kind"] == "sale"]
        if not rows:
            missing += 1
            return
        moved: dict[str, int] = defaultdict(int)
        for row in rows:
            moved[row["product_id"]] -= row["delta"]
        if dict(moved) != units_by_product([record.body]):
            wrong += 1
        lo, hi, cut = lag_bounds(record.completed_at, [r["created_at"] for r in rows])
        truncated = truncated and cut
        low.append(lo)
        high.append(hi)

    await gather_limited((one(r) for r in sample), 16)
    return {
        "sampled": len(sample),
        "missing": missing,
        "wrong_rows": wrong,
        "truncated": truncated and bool(low),
        "low": low,
        "high": high,
    }


async def payment_problems(run: Run, http: httpx.AsyncClient, completed: list[SaleRecord]) -> dict[str, int]:
    """Card sales, checked with payments: a completed one was captured exactly once for
    its total; one that did not complete has nothing captured."""
    done = {r.body["id"] for r in completed}
    cards = [r for r in run.records if r.body["tenders"][0]["kind"] == "card"]
    if len(cards) > run.args.ledger_max:
        cards = random.Random(run.args.seed).sample(cards, run.args.ledger_max)
    problems = {"checked": len(cards), "not_captured_once": 0, "captured_but_failed": 0}

    async def one(record: SaleRecord) -> None:
        response = await http.get("/api/payments/payments", params={"sale_id": record.body["id"]})
        found = response.json() if response.status_code == 200 else []
        items = found if isinstance(found, list) else found.get("items", [])
        captured = [p for p in items if p["status"] == "captured"]
        if record.body["id"] in done:
            expected = record.body["tenders"][0]["amount_minor"]
            if len(captured) != 1 or captured[0]["amount_minor"] != expected:
                problems["not_captured_once"] += 1
        elif captured:
            problems["captured_but_failed"] += 1

    await gather_limited((one(r) for r in cards), 16)
    return problems


async def stock_levels(run: Run, http: httpx.AsyncClient) -> dict[str, dict[str, int]]:
    async def one(product: Product) -> tuple[str, dict[str, int]]:
        level = _check(await http.get(f"/api/inventory/stock/{run.outlet_id}/{product.id}"), "read stock")
        return product.id, level

    return dict(await gather_limited((one(p) for p in run.products), 16))


async def reports_totals(run: Run, http: httpx.AsyncClient, expected_sales: int) -> dict[str, int] | None:
    deadline = time.monotonic() + run.args.settle_timeout
    totals = None
    while time.monotonic() < deadline:
        response = await http.get("/api/reports/sales/daily", params={"outlet_id": run.outlet_id})
        if response.status_code == 200:
            totals = response.json()["totals"]
            if totals["sales_count"] >= expected_sales:
                return totals
        await asyncio.sleep(0.5)
    return totals


def read_from(path: Path, offset: int) -> list[str]:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


async def execute(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    run = Run(args)
    async with httpx.AsyncClient(base_url=args.base_url, timeout=30.0, trust_env=False) as http:
        token = await login(http, args.email, args.password)
        headers = {"Authorization": f"Bearer {token}"}
        http.headers.update(headers)
        before = await setup(run, http)

        access_log = Path(args.access_log) if args.access_log else None
        log_offset = access_log.stat().st_size if access_log and access_log.exists() else 0
        processes = stack_processes(Path(args.state_dir)) if Path(args.state_dir, "pids").is_dir() else {}
        cpu_before = cpu_snapshot(processes)

        run.deadline = time.monotonic() + args.duration
        # SIGUSR1 ends the load now (the tills finish the sale in hand), as if the
        # duration were up: a driver that runs something alongside (the offline burst,
        # scripts/bench_offline_burst.py) stops the load when its own work is done. The
        # line on stderr says when the load began.
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGUSR1, run.end_now)
        except (NotImplementedError, RuntimeError, AttributeError):  # no signals here
            pass
        print(f"loadgen: load started ({args.tills} tills)", file=sys.stderr, flush=True)
        started = time.perf_counter()
        follow = asyncio.create_task(sampler(run, headers))
        await asyncio.gather(*(till(run, n, headers) for n in range(args.tills)))
        elapsed = time.perf_counter() - started
        cpu_after = cpu_snapshot(processes)
        run.stopped = True
        await follow
        routes = summarize_access_log(read_from(access_log, log_offset)) if access_log else {}

        await resolve_unanswered(run, http)
        completed = [r for r in run.records if r.status == 201 or r.resolved == "COMPLETED"]
        server_completed, unfulfilled, fulfil_wait = await wait_fulfilled(run, http)
        lags = await ledger_lags(run, http, completed)
        paid = await payment_problems(run, http, completed)
        after = await stock_levels(run, http)
        sold = units_by_product(r.body for r in completed)
        mismatches = stock_mismatches(before, {p: level["on_hand"] for p, level in after.items()}, sold)
        still_reserved = {p: level["reserved"] for p, level in after.items() if level["reserved"]}
        report = await reports_totals(run, http, len(completed))
        memory = rss_mib(processes)

    ok_latencies = [r.latency_ms for r in run.records if r.status == 201]
    failures = Counter(str(r.status) if r.status is not None else r.error for r in run.records if r.status != 201)
    units = sum(sold.values())
    gross = sum(r.total_minor for r in completed)
    checks = {
        "stock": not mismatches,
        "reserved_released": not still_reserved,
        "sales_count": server_completed == len(completed),
        "fulfilled": unfulfilled == 0,
        "ledger_rows": lags["missing"] == 0 and lags["wrong_rows"] == 0,
        "reports": report is not None
        and (report["sales_count"], report["items_sold"], report["gross_minor"]) == (len(completed), units, gross),
        "change": run.wrong_change == 0,
        "card_payments": paid["not_captured_once"] == 0 and paid["captured_but_failed"] == 0,
    }
    cpu = {
        k: cpu_after.get(k, 0.0) - cpu_before.get(k, 0.0)
        for k in sorted(set(cpu_before) | set(cpu_after))
        if not k.startswith("_")
    }
    box_total = cpu_after.get("_box_total", 0) - cpu_before.get("_box_total", 0)
    box_busy = cpu_after.get("_box_busy", 0) - cpu_before.get("_box_busy", 0)
    in_window = sum(1 for r in run.records if r.status == 201)
    result = {
        "base_url": args.base_url,
        "tills": args.tills,
        "duration_s": round(elapsed, 3),
        "lines_max": args.lines_max,
        "outlet_id": run.outlet_id,
        "products": len(run.products),
        "posted": len(run.records),
        "completed": len(completed),
        "completed_per_s": round(sum(1 for r in run.records if r.status == 201) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {f"p{p}": _round(percentile(ok_latencies, p)) for p in (50, 95, 99)}
        | {"max": _round(max(ok_latencies, default=None))},
        "failures": dict(failures),
        "failure_examples": run.failure_examples,
        "resolved_after_run": dict(Counter(r.resolved for r in run.records if r.status != 201)),
        "lag_sampler_ms": {
            "samples": len(run.sampler_lags_ms),
            "timeouts": run.sampler_timeouts,
            "p50": _round(percentile(run.sampler_lags_ms, 50)),
            "p99": _round(percentile(run.sampler_lags_ms, 99)),
        },
        "lag_ledger_ms": {
            "sales": len(lags["low"]),
            "second_resolution": lags["truncated"],
            "p50": [_round(percentile(lags["low"], 50)), _round(percentile(lags["high"], 50))],
            "p99": [_round(percentile(lags["low"], 99)), _round(percentile(lags["high"], 99))],
        },
        "fulfilment_wait_s": round(fulfil_wait, 2),
        "server_completed": server_completed,
        "unfulfilled": unfulfilled,
        "units_sold": units,
        "gross_minor": gross,
        "reports_totals": report,
        "stock_mismatches": [m.__dict__ | {"moved": m.moved} for m in mismatches],
        "still_reserved": still_reserved,
        "ledger_sampled": lags["sampled"],
        "ledger_missing": lags["missing"],
        "ledger_wrong_rows": lags["wrong_rows"],
        "card_payments": paid,
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        # CPU per sale answered 201 during the load, by process and for the whole box
        # (the box figure includes everything running on it, the load generator too).
        "cpu_ms_per_sale": {k: round(1000 * v / in_window, 2) for k, v in cpu.items()} if in_window else {},
        "box_cpu_ms_per_sale": round(1000 * box_busy / in_window, 2) if in_window else None,
        "box_busy_pct": round(100 * box_busy / box_total, 1) if box_total else None,
        "rss_mib_after": memory,
        "gateway_routes": {
            route: {
                "count": t.count,
                "statuses": dict(t.statuses),
                "p50_ms": _round(percentile(t.total_ms, 50)),
                "p95_ms": _round(percentile(t.total_ms, 95)),
                "p99_ms": _round(percentile(t.total_ms, 99)),
                "upstream_p50_ms": _round(percentile(t.upstream_ms, 50)),
            }
            for route, t in sorted(routes.items(), key=lambda kv: -kv[1].count)
        },
        "checks": checks,
    }
    return result, all(checks.values())


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def render(result: dict[str, Any]) -> str:
    out = []
    add = out.append
    add(
        f"checkout load: {result['tills']} tills, {result['duration_s']:.1f} s, 1..{result['lines_max']} lines per sale, "
        f"{result['products']} products, outlet {result['outlet_id']}"
    )
    add("")
    add(f"  {'sales posted':<34}{result['posted']:>12,}")
    add(f"  {'sales completed':<34}{result['completed']:>12,}")
    add(f"  {'completed sales/s':<34}{result['completed_per_s']:>12,.1f}")
    lat = result["latency_ms"]
    for key in ("p50", "p95", "p99", "max"):
        add(f"  {'checkout latency ' + key + ' (ms)':<34}{fmt_ms(lat[key]):>12}")
    failures = ", ".join(f"{k}: {v}" for k, v in sorted(result["failures"].items())) or "none"
    add(f"  {'failures':<34}{failures:>12}")
    for key, example in result["failure_examples"].items():
        add(f"      {key}: {example[:160]}")
    if result["resolved_after_run"]:
        add(f"  {'unanswered sales, resolved':<34}{json.dumps(result['resolved_after_run']):>12}")
    s = result["lag_sampler_ms"]
    add(
        f"  {'lag to fulfilled, sampler p50 (ms)':<34}{fmt_ms(s['p50']):>12}   ({s['samples']} sales polled, {s['timeouts']} timed out)"
    )
    add(f"  {'lag to fulfilled, sampler p99 (ms)':<34}{fmt_ms(s['p99']):>12}")
    lg = result["lag_ledger_ms"]
    if lg["second_resolution"]:
        add(
            f"  {'SaleCompleted->StockDeducted p50':<34}{fmt_ms(lg['p50'][0]) + '..' + fmt_ms(lg['p50'][1]):>12}   "
            f"(ledger, {lg['sales']} sales; ledger time has 1 s resolution: bounds)"
        )
        add(f"  {'SaleCompleted->StockDeducted p99':<34}{fmt_ms(lg['p99'][0]) + '..' + fmt_ms(lg['p99'][1]):>12}")
    else:
        add(f"  {'SaleCompleted->StockDeducted p50':<34}{fmt_ms(lg['p50'][0]):>12}   (ledger, {lg['sales']} sales)")
        add(f"  {'SaleCompleted->StockDeducted p99':<34}{fmt_ms(lg['p99'][0]):>12}")
    add(
        f"  {'all fulfilled after the run in':<34}{result['fulfilment_wait_s']:>11.1f}s   ({result['unfulfilled']} still pending)"
    )
    if result["cpu_seconds"]:
        add("")
        add(
            f"  CPU during the load (cores = CPU s / {result['duration_s']:.1f} s; box busy {result['box_busy_pct']} %, "
            f"{fmt_ms(result['box_cpu_ms_per_sale'])} ms of the box's CPU per sale):"
        )
        per_sale = result["cpu_ms_per_sale"]
        for name, seconds in sorted(result["cpu_seconds"].items(), key=lambda kv: -kv[1]):
            add(
                f"      {name:<14}{seconds:>8.2f} s  {seconds / result['duration_s']:>5.2f} cores  {fmt_ms(per_sale.get(name)):>7} ms/sale"
            )
    if result["rss_mib_after"]:
        add("")
        add(
            "  memory after the run (RSS, MiB): " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(result["rss_mib_after"].items()))
        )
    if result["gateway_routes"]:
        add("")
        add("  gateway timings during the load (nginx request_time, ms):")
        add(f"      {'route':<48}{'count':>8}{'p50':>9}{'p95':>9}{'p99':>9}  statuses")
        for route, t in list(result["gateway_routes"].items())[:10]:
            add(
                f"      {route:<48}{t['count']:>8}{fmt_ms(t['p50_ms']):>9}{fmt_ms(t['p95_ms']):>9}{fmt_ms(t['p99_ms']):>9}  {t['statuses']}"
            )
    add("")
    c = result["checks"]
    if c["stock"]:
        add(f"stock check: OK ({result['products']} products, {result['units_sold']} units)")
    else:
        add(f"stock check: FAILED ({len(result['stock_mismatches'])} of {result['products']} products)")
        for m in result["stock_mismatches"][:20]:
            add(f"    {m['product_id']}: on hand {m['before']} -> {m['after']} (moved {m['moved']}), sold {m['sold']}")
    add(
        f"reservations: {'OK (none left)' if c['reserved_released'] else 'FAILED, still reserved: ' + json.dumps(result['still_reserved'])}"
    )
    add(
        f"sales count: {'OK' if c['sales_count'] else 'FAILED'} (tills {result['completed']}, sales service {result['server_completed']})"
    )
    add(f"fulfilment: {'OK' if c['fulfilled'] else 'FAILED'} ({result['unfulfilled']} completed sales not fulfilled)")
    add(
        f"ledger rows: {'OK' if c['ledger_rows'] else 'FAILED'} ({result['ledger_sampled']} sales checked, "
        f"{result['ledger_missing']} without rows, {result['ledger_wrong_rows']} not matching their lines)"
    )
    r = result["reports_totals"] or {}
    add(
        f"reports: {'OK' if c['reports'] else 'FAILED'} (sales {r.get('sales_count')}, items {r.get('items_sold')}, gross {r.get('gross_minor')}; "
        f"expected {result['completed']}, {result['units_sold']}, {result['gross_minor']})"
    )
    add(f"change: {'OK' if c['change'] else 'FAILED'} (receipts whose change is not tendered - total)")
    p = result["card_payments"]
    add(
        f"card payments: {'OK' if c['card_payments'] else 'FAILED'} ({p['checked']} card sales checked, "
        f"{p['not_captured_once']} completed but not captured exactly once, {p['captured_but_failed']} captured but not completed)"
    )
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080", help="the gateway (loopback only)")
    parser.add_argument("--tills", type=int, default=8, help="concurrent tills (default 8)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (default 20; with --sales: a cap)")
    parser.add_argument("--sales", type=int, default=None, help="total sales to post instead of a duration")
    parser.add_argument("--lines-max", type=int, default=4, help="lines per sale: 1..N (default 4)")
    parser.add_argument(
        "--card-share", type=float, default=0.5, help="share of sales paid by card through the card sandbox (default 0.5)"
    )
    parser.add_argument("--email", default=None, help="admin e-mail (default: from the stack's admin-credentials.txt)")
    parser.add_argument("--password", default=None, help="admin password (default: from the stack's admin-credentials.txt)")
    parser.add_argument("--seed-products", type=int, default=50, help="products the fixture creates (default 50)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout of a till (s)")
    parser.add_argument("--settle-timeout", type=float, default=60.0, help="longest wait for prices, fulfilment and reports (s)")
    parser.add_argument("--ledger-max", type=int, default=5000, help="sales whose ledger rows are read after the run")
    parser.add_argument("--seed", type=int, default=None, help="random seed (carts, prices)")
    parser.add_argument("--state-dir", default=str(STATE_DIR), help="local stack state (pids for the CPU table)")
    parser.add_argument("--access-log", default=None, help="gateway JSON access log ('' to skip; default: the stack's)")
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args(argv)
    if not is_loopback_url(args.base_url):
        parser.error(f"--base-url must be a loopback address (got {args.base_url})")
    args.base_url = args.base_url.rstrip("/")
    if args.sales is None and args.duration is None:
        args.duration = 20.0
    if args.duration is None:
        args.duration = MAX_DURATION_SECONDS
    if not 0 < args.duration <= MAX_DURATION_SECONDS:
        parser.error(f"--duration must be in (0, {MAX_DURATION_SECONDS:.0f}]")
    if args.sales is not None and not 0 < args.sales <= MAX_SALES:
        parser.error(f"--sales must be in 1..{MAX_SALES}")
    if not 1 <= args.tills <= 1000:
        parser.error("--tills must be in 1..1000")
    if not 0.0 <= args.card_share <= 1.0:
        parser.error("--card-share must be in 0..1")
    if not 1 <= args.lines_max <= 500:
        parser.error("--lines-max must be in 1..500")
    if not 1 <= args.seed_products <= 1000:
        parser.error("--seed-products must be in 1..1000 (one receipt holds at most 1000 lines)")
    if args.email is None or args.password is None:
        credentials = Path(args.state_dir) / "admin-credentials.txt"
        try:
            fields = parse_credentials(credentials.read_text())
        except OSError:
            parser.error(f"give --email and --password (no {credentials})")
        args.email = args.email or fields.get("email")
        args.password = args.password or fields.get("password")
        if not args.email or not args.password:
            parser.error(f"{credentials} has no email/password lines")
    if args.access_log is None:
        default_log = Path(args.state_dir) / "nginx" / "access.log"
        args.access_log = str(default_log) if default_log.exists() else ""
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result, ok = asyncio.run(execute(args))
    except (SetupError, httpx.HTTPError) as exc:
        print(f"loadgen: cannot run: {exc}", file=sys.stderr)
        return 2
    print(render(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
