"""The fault suite's load driver and its checker.

Tills (asyncio tasks, one httpx client each) post sales through the gateway, each with
a fresh UUID. A till that gets no answer or a 5xx posts the same sale id again 2-4 s
later (docs/checkout.md: the id is the idempotency key), until it gets a final answer
(201, or a 4xx) or the scenario's settle deadline. Cash sales by default; card sales
(priced with POST /api/sales/quote first, charged through the stack's card sandbox)
where the scenario asks for them.

After the fault, `settle()` waits until the server has settled (no sale PENDING, every
completed sale fulfilled, nothing reserved), and `check()` looks at every sale from the
outside and sorts it:

- completed: COMPLETED on the server, deducted once, fulfilled, paid once;
- failed: cleanly: a 4xx final answer or FAILED on the server, nothing charged, no stock moved;
- lost: the till got 201 but the sale is not COMPLETED; a COMPLETED sale never
  deducted or never fulfilled; a sale not COMPLETED whose money was taken;
- duplicated: more than one set of ledger rows, more than one captured payment or card
  charge, or a COMPLETED sale in the outlet that no till posted;
- phantom: stock moved by a sale the server does not have as COMPLETED, or a sale
  COMPLETED while its till got a definitive failure;
- stuck: PENDING after the settle timeout, or its reservation still held.

Then the stock (on_hand = initial - sold, reserved 0), the daily report (= the
receipts) and the dead-letter queues (nothing new) are compared, and one Jepsen-style
line is printed and kept for the summary (test-results/faults.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.unit.scriptload import load_script

loadgen = load_script("loadgen")

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results" / "faults.json"
SANDBOX_KEY = {"Authorization": "Bearer sk_test_faults"}
GIVE_UP_MARGIN = 4.0  # a till does not start a retry that could not end before the deadline


@dataclass
class Attempt:
    at: float
    status: int | None  # None: no answer (transport error or timeout)
    detail: str = ""


@dataclass
class TillSale:
    till: int
    body: dict[str, Any]
    card: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    final: int | None = None  # 201 or the 4xx that ended it; None: no final answer
    answer: dict[str, Any] = field(default_factory=dict)
    answered_at: float | None = None
    issued_at: float = 0.0

    @property
    def id(self) -> str:
        return self.body["id"]

    @property
    def definitive_failure(self) -> bool:
        return self.final is not None and 400 <= self.final < 500


@dataclass
class Shop:
    """A scenario's outlet and products (made through the public API by loadgen.setup)."""

    outlet_id: str
    products: list[Any]  # loadgen.Product
    initial: dict[str, int]  # product id -> on_hand before the load


async def make_shop(base_url: str, token: str, products: int = 12, seed: int | None = None) -> Shop:
    args = argparse.Namespace(seed=seed, seed_products=products, settle_timeout=60.0)
    run = loadgen.Run(args)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0, trust_env=False
    ) as http:
        initial = await loadgen.setup(run, http)
    return Shop(run.outlet_id, run.products, initial)


class Load:
    """Tills posting sales for one scenario."""

    def __init__(
        self,
        base_url: str,
        token: str,
        shop: Shop,
        *,
        tills: int = 8,
        card_share: float = 0.0,
        max_sales: int = 300,
        think: float = 0.15,
        timeout: float = 30.0,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.shop = shop
        self.tills = tills
        self.card_share = card_share
        self.max_sales = max_sales
        self.think = think
        self.timeout = timeout
        self.seed = seed
        self.sales: list[TillSale] = []
        self.issuing = True
        self.deadline = float("inf")
        self.started = 0.0
        self.fault_at: float | None = None  # set by the scenario's fault when it strikes
        self.notes: dict[str, Any] = {}  # what the fault wants in the verdict

    def fault_begins(self) -> None:
        self.fault_at = time.monotonic()

    def stop_issuing(self) -> None:
        self.issuing = False

    async def run(self, deadline: float) -> None:
        """Every till until new sales stop and each has a final answer (or `deadline`)."""
        self.deadline = deadline
        self.started = time.monotonic()
        await asyncio.gather(*(self._till(n) for n in range(self.tills)))

    async def _till(self, number: int) -> None:
        rng = random.Random(None if self.seed is None else self.seed * 1000 + number)
        timeout = httpx.Timeout(self.timeout, connect=5.0)
        async with httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=timeout, trust_env=False) as http:
            while self.issuing and len(self.sales) < self.max_sales and time.monotonic() < self.deadline - GIVE_UP_MARGIN:
                card = rng.random() < self.card_share
                body = loadgen.make_sale(rng, self.shop.outlet_id, self.shop.products, lines_max=3)
                sale = TillSale(number, body, card=card, issued_at=time.monotonic())
                if card and not await self._card_tender(http, sale, rng):
                    continue
                self.sales.append(sale)
                await self._post_until_final(http, sale, rng)
                await asyncio.sleep(self.think * rng.uniform(0.5, 1.5))

    async def _card_tender(self, http: httpx.AsyncClient, sale: TillSale, rng: random.Random) -> bool:
        """A card pays exactly the total: the till asks for the price first."""
        cart = {"outlet_id": sale.body["outlet_id"], "lines": sale.body["lines"]}
        while time.monotonic() < self.deadline - GIVE_UP_MARGIN:
            try:
                quote = await http.post("/api/sales/quote", json=cart)
            except httpx.HTTPError:
                quote = None
            if quote is not None and quote.status_code == 200:
                total = quote.json()["total_minor"]
                sale.body["tenders"] = [{"kind": "card", "amount_minor": total, "card_token": "pm_card_visa"}]
                return True
            await asyncio.sleep(rng.uniform(1, 2))
        return False

    async def _post_until_final(self, http: httpx.AsyncClient, sale: TillSale, rng: random.Random) -> None:
        while True:
            try:
                response = await http.post("/api/sales", json=sale.body)
            except httpx.HTTPError as exc:
                sale.attempts.append(Attempt(time.monotonic(), None, type(exc).__name__))
            else:
                code = response.status_code
                try:
                    answer = response.json()
                except ValueError:
                    answer = {"detail": response.text[:200]}
                detail = (
                    "PENDING"
                    if isinstance(answer, dict) and answer.get("status") == "PENDING"
                    else str(answer.get("detail", ""))[:120]
                    if isinstance(answer, dict)
                    else ""
                )
                sale.attempts.append(Attempt(time.monotonic(), code, detail))
                if code == 201 or 400 <= code < 500:
                    sale.final = code
                    sale.answer = answer if isinstance(answer, dict) else {}
                    sale.answered_at = time.monotonic()
                    return
            pause = rng.uniform(2.0, 4.0)
            if time.monotonic() + pause + GIVE_UP_MARGIN > self.deadline:
                return
            await asyncio.sleep(pause)

    def last_answer_at(self) -> float:
        return max((a.at for s in self.sales for a in s.attempts), default=self.started)


# --- reading the server ---------------------------------------------------------------


Fault = Callable[[Load], Awaitable[float]]
"""A scenario's fault: injects it while `Load` runs, heals it, returns when (monotonic)."""


async def _get_json(http: httpx.AsyncClient, url: str, **params: Any) -> tuple[int, Any]:
    for _ in range(5):
        try:
            response = await http.get(url, params=params or None)
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code >= 500:
            await asyncio.sleep(0.5)
            continue
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None
    return 0, None


async def outlet_sales(http: httpx.AsyncClient, outlet_id: str) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        code, page = await _get_json(http, "/api/sales", outlet_id=outlet_id, limit=500, offset=offset)
        if code != 200:
            return None
        items.extend(page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return items


async def stock_levels(http: httpx.AsyncClient, shop: Shop) -> dict[str, dict[str, int]] | None:
    async def one(product: Any) -> tuple[str, Any]:
        code, level = await _get_json(http, f"/api/inventory/stock/{shop.outlet_id}/{product.id}")
        return product.id, level if code == 200 else None

    levels = dict(await loadgen.gather_limited((one(p) for p in shop.products), 8))
    return None if any(v is None for v in levels.values()) else levels


async def settle(http: httpx.AsyncClient, shop: Shop, deadline: float) -> float | None:
    """Wait until nothing is PENDING, every completed sale is fulfilled and nothing is
    reserved; the moment it was so (monotonic), or None if it never was by `deadline`."""
    while True:
        sales = await outlet_sales(http, shop.outlet_id)
        levels = await stock_levels(http, shop) if sales is not None else None
        if sales is not None and levels is not None:
            pending = [s for s in sales if s["status"] == "PENDING"]
            unfulfilled = [s for s in sales if s["status"] == "COMPLETED" and s["fulfilment"] != "fulfilled"]
            reserved = [p for p, level in levels.items() if level["reserved"]]
            if not pending and not unfulfilled and not reserved:
                return time.monotonic()
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(1.0)


async def dead_letter_totals(http: httpx.AsyncClient) -> dict[str, int | None]:
    """Pending items in each consuming service's dead-letter list (None: no such endpoint)."""
    totals: dict[str, int | None] = {}
    for service in ("inventory", "sales", "reports"):
        code, body = await _get_json(http, f"/api/{service}/dead-letters")
        if code == 200 and isinstance(body, dict):
            items = body.get("items", [])
            totals[service] = (
                sum(1 for i in items if i.get("status", "pending") == "pending") if items else int(body.get("total", 0))
            )
        else:
            totals[service] = None
    return totals


async def sandbox_intents(sandbox_url: str) -> dict[str, dict[str, Any]]:
    """The sandbox's latest payment intents (it keeps them in memory: a restart forgets)."""
    async with httpx.AsyncClient(base_url=sandbox_url, headers=SANDBOX_KEY, timeout=5.0, trust_env=False) as http:
        try:
            response = await http.get("/v1/payment_intents", params={"limit": 100})
        except httpx.HTTPError:
            return {}
    if response.status_code != 200:
        return {}
    return {i["id"]: i for i in response.json()["data"]}


# --- the check ------------------------------------------------------------------------


@dataclass
class Verdict:
    scenario: str
    attempted: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    phantom: int = 0
    stuck: int = 0
    recovery_s: float | None = None
    unanswered: int = 0  # tills with no final answer by the deadline (their sale is counted by its server state)
    retried: int = 0  # sales posted more than once
    answers: dict[str, int] = field(default_factory=dict)  # every answer the tills got, by status
    checks: dict[str, bool] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def example(self, kind: str, text: str) -> None:
        if len(self.examples[kind]) < 5:
            self.examples[kind].append(text)

    def line(self) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.1f}s"
        failed_checks = [name for name, ok in self.checks.items() if not ok]
        return (
            f"{self.scenario}: attempted {self.attempted}, completed {self.completed}, failed {self.failed}, "
            f"lost {self.lost}, duplicated {self.duplicated}, phantom {self.phantom}, stuck {self.stuck}, "
            f"recovery {recovery}; checks {'all ok' if not failed_checks else 'FAILED: ' + ', '.join(failed_checks)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "attempted": self.attempted,
            "completed": self.completed,
            "failed": self.failed,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "phantom": self.phantom,
            "stuck": self.stuck,
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 1),
            "unanswered": self.unanswered,
            "retried": self.retried,
            "answers": self.answers,
            "checks": self.checks,
            "notes": self.notes,
            "examples": dict(self.examples),
        }

    def problems(self) -> list[str]:
        found = [
            f"{n} {k}"
            for k, n in (("lost", self.lost), ("duplicated", self.duplicated), ("phantom", self.phantom), ("stuck", self.stuck))
            if n
        ]
        found += [f"check {name} failed" for name, ok in self.checks.items() if not ok]
        return found


def ledger_verdict(rows: list[dict[str, Any]], lines: dict[str, int]) -> str:
    """What a sale's ledger rows (kind "sale") say: "none" (never deducted), "one" (one
    set matching its lines), "more" (deducted more than once) or "wrong" (rows that are
    not its lines)."""
    if not rows:
        return "none"
    moved: dict[str, int] = defaultdict(int)
    for row in rows:
        moved[row["product_id"]] -= row["delta"]
    if dict(moved) == lines and len(rows) == len(lines):
        return "one"
    if set(moved) == set(lines) and all(moved[p] >= q for p, q in lines.items()):
        return "more"
    return "wrong"


async def check(
    http: httpx.AsyncClient,
    scenario: str,
    load: Load,
    *,
    healed_at: float,
    settled_at: float | None,
    dead_letters_before: dict[str, int | None],
    dlq_before: dict[str, int],
    dlq_after: dict[str, int],
    sandbox_url: str | None = None,
    charges_before: dict[str, dict[str, Any]] | None = None,
    expect_no_dead_letters: bool = True,
    report_timeout: float = 20.0,
) -> Verdict:
    shop = load.shop
    verdict = Verdict(scenario, attempted=len(load.sales))
    verdict.answers = dict(
        Counter(str(a.status) if a.status is not None else "no answer" for s in load.sales for a in s.attempts)
    )
    verdict.retried = sum(1 for s in load.sales if len(s.attempts) > 1)
    verdict.unanswered = sum(1 for s in load.sales if s.final is None)
    last_answer = max((s.answered_at for s in load.sales if s.answered_at), default=healed_at)
    if settled_at is not None and verdict.unanswered == 0:
        verdict.recovery_s = max(0.0, max(settled_at, last_answer) - healed_at)

    # Card charges, per lifetime of the sandbox (it forgets everything when it restarts,
    # idempotency keys included, which a real processor does not): charged more than once
    # means twice within one lifetime; charged at all means in any of them.
    lifetimes = [charges_before] if charges_before is not None else []
    if sandbox_url:
        lifetimes.append(await sandbox_intents(sandbox_url))
    card_charges: dict[str, int] = defaultdict(int)  # most succeeded charges in one lifetime
    for intents in lifetimes:
        per_sale: Counter[str] = Counter(
            i["metadata"].get("pos_payment_id", "") for i in intents.values() if i.get("status") == "succeeded"
        )
        for sale_id, n in per_sale.items():
            card_charges[sale_id] = max(card_charges[sale_id], n)

    server = {s["id"]: s for s in (await outlet_sales(http, shop.outlet_id) or [])}
    ours = {s.id for s in load.sales}
    completed_ids: set[str] = set()
    phantom_ids: set[str] = set()
    sold: dict[str, int] = defaultdict(int)
    gross = 0
    unpaid = 0
    completed_units = 0

    async def look(sale: TillSale) -> tuple[TillSale, Any, Any, Any, Any]:
        code, detail = await _get_json(http, f"/api/sales/{sale.id}")
        _, ledger = await _get_json(http, "/api/inventory/ledger", reference=sale.id)
        _, payments = await _get_json(http, "/api/payments/payments", sale_id=sale.id)
        rcode, reservation = await _get_json(http, f"/api/inventory/reservations/{sale.id}")
        return sale, (detail if code == 200 else None), ledger or [], payments or [], (reservation if rcode == 200 else None)

    for sale, detail, ledger, payments, reservation in await loadgen.gather_limited((look(s) for s in load.sales), 8):
        status = detail["status"] if detail else None
        lines = loadgen.units_by_product([sale.body])
        sale_rows = [r for r in ledger if r.get("kind") == "sale"]
        deducted = ledger_verdict(sale_rows, lines)
        captured = [p for p in payments if p.get("status") == "captured"]
        charged = captured or card_charges.get(sale.id)
        tag = f"{sale.id} till {sale.final} server {status}"
        held = reservation is not None and reservation.get("status") == "held"
        if status == "PENDING":
            verdict.stuck += 1
            verdict.example("stuck", f"{tag}: PENDING after the settle timeout")
            continue
        if status == "COMPLETED":
            # What the server sold, whatever else is wrong with the sale: the stock and
            # the report are compared with this.
            completed_ids.add(sale.id)
            for product, qty in lines.items():
                sold[product] += qty
            gross += int(detail.get("total_minor", 0))
            completed_units += sum(lines.values())
            if sale.definitive_failure:
                verdict.phantom += 1
                phantom_ids.add(sale.id)
                verdict.example("phantom", f"{tag}: COMPLETED although the till was told {sale.final}")
                continue
            if deducted == "more":
                verdict.duplicated += 1
                verdict.example("duplicated", f"{tag}: {len(sale_rows)} ledger rows for {len(lines)} lines")
                continue
            if len(captured) > 1 or card_charges.get(sale.id, 0) > 1:
                verdict.duplicated += 1
                verdict.example("duplicated", f"{tag}: {len(captured)} payments, {card_charges.get(sale.id, 0)} card charges")
                continue
            if deducted != "one":
                verdict.lost += 1
                why = "never deducted" if deducted == "none" else "ledger rows do not match its lines"
                verdict.example("lost", f"{tag}: COMPLETED but {why}{' (its reservation still held)' if held else ''}")
                continue
            if detail.get("fulfilment") != "fulfilled":
                verdict.lost += 1
                verdict.example("lost", f"{tag}: COMPLETED and deducted but never fulfilled ({detail.get('fulfilment')})")
                continue
            if not captured:
                unpaid += 1
                verdict.example("unpaid", f"{tag}: COMPLETED with no captured payment")
            verdict.completed += 1
            continue
        # FAILED, or never recorded
        if sale.final == 201:
            verdict.lost += 1
            verdict.example("lost", f"{tag}: the till got a receipt")
            continue
        if sale_rows:
            verdict.phantom += 1
            phantom_ids.add(sale.id)
            verdict.example("phantom", f"{tag}: {len(sale_rows)} ledger rows for a sale that is not COMPLETED")
            continue
        if held:
            verdict.stuck += 1
            verdict.example("stuck", f"{tag}: reservation still held")
            continue
        if charged:
            verdict.lost += 1
            verdict.example(
                "lost",
                f"{tag}: charged ({len(captured)} payments captured, {card_charges.get(sale.id, 0)} card charges) but not COMPLETED",
            )
            continue
        verdict.failed += 1

    verdict.checks["paid"] = unpaid == 0

    # COMPLETED sales in the outlet that no till posted: a till sale completed twice over.
    extra = [sid for sid, s in server.items() if sid not in ours and s["status"] == "COMPLETED"]
    verdict.duplicated += len(extra)
    for sid in extra:
        verdict.example("duplicated", f"{sid}: COMPLETED in the outlet, posted by no till")

    # Stock moved by sales the server does not have as COMPLETED.
    references: set[str] = set()
    before_id: int | None = None
    for _ in range(100):
        params: dict[str, Any] = {"outlet_id": shop.outlet_id, "kind": "sale", "limit": 1000}
        if before_id is not None:
            params["before_id"] = before_id
        code, rows = await _get_json(http, "/api/inventory/ledger", **params)
        if code != 200 or not rows:
            break
        references |= {r["reference"] for r in rows if r.get("reference")}
        before_id = min(r["id"] for r in rows)
        if len(rows) < 1000:
            break
    strays = references - completed_ids - phantom_ids
    verdict.phantom += len(strays)
    for ref in sorted(strays)[:5]:
        verdict.example("phantom", f"{ref}: ledger rows, no COMPLETED sale of this outlet")

    # Stock: on_hand = initial - sold, nothing reserved.
    levels = await stock_levels(http, shop) or {}
    mismatches = loadgen.stock_mismatches(shop.initial, {p: level["on_hand"] for p, level in levels.items()}, dict(sold))
    reserved = {p: level["reserved"] for p, level in levels.items() if level["reserved"]}
    verdict.checks["stock"] = bool(levels) and not mismatches
    verdict.checks["nothing_reserved"] = bool(levels) and not reserved
    if mismatches:
        verdict.notes["stock_mismatches"] = [m.__dict__ | {"moved": m.moved} for m in mismatches[:10]]
    if reserved:
        verdict.notes["still_reserved"] = reserved
    verdict.checks["server_count"] = sum(1 for s in server.values() if s["status"] == "COMPLETED") == len(completed_ids) + len(
        extra
    )

    # The daily report equals the receipts (it is fed by events: give it a moment).
    expected = (len(completed_ids), completed_units, gross)
    report_deadline = time.monotonic() + report_timeout
    totals: tuple[int, int, int] | None = None
    while True:
        code, report = await _get_json(http, "/api/reports/sales/daily", outlet_id=shop.outlet_id)
        if code == 200:
            t = report.get("totals") or {}
            totals = (int(t.get("sales_count", 0)), int(t.get("items_sold", 0)), int(t.get("gross_minor", 0)))
            if totals == expected:
                break
        if time.monotonic() >= report_deadline:
            break
        await asyncio.sleep(1.0)
    verdict.checks["reports"] = totals == expected
    verdict.notes["reports"] = {"report": totals, "receipts": expected}

    # Dead letters: nothing new in the broker's dead-letter queues or the services' lists.
    dlq_new = {q: dlq_after.get(q, 0) - dlq_before.get(q, 0) for q in dlq_after if dlq_after.get(q, 0) != dlq_before.get(q, 0)}
    dead_letters_after = await dead_letter_totals(http)
    listed_new = {
        svc: (dead_letters_after[svc] or 0) - (dead_letters_before.get(svc) or 0)
        for svc in dead_letters_after
        if dead_letters_after[svc] is not None and (dead_letters_after[svc] or 0) != (dead_letters_before.get(svc) or 0)
    }
    verdict.notes["dead_letter_queues_new"] = dlq_new
    verdict.notes["dead_letter_lists_new"] = listed_new
    verdict.notes["dead_letter_endpoints"] = {svc: v is not None for svc, v in dead_letters_after.items()}
    if expect_no_dead_letters:
        verdict.checks["no_dead_letters"] = not dlq_new and not listed_new
    verdict.notes["answers"] = verdict.answers
    verdict.notes.update(load.notes)
    start = load.started
    fault_at = load.fault_at if load.fault_at is not None else healed_at
    verdict.notes["timeline_s"] = {
        "fault": round(fault_at - start, 1),
        "healed": round(healed_at - start, 1),
        "last_sale_issued": round(max((s.issued_at for s in load.sales), default=start) - start, 1),
        "settled": None if settled_at is None else round(settled_at - start, 1),
        "sales_issued_before_heal": sum(1 for s in load.sales if s.issued_at <= healed_at),
        "sales_in_flight_or_issued_during_fault": sum(
            1 for s in load.sales if s.issued_at <= healed_at and (s.answered_at is None or s.answered_at >= fault_at)
        ),
    }
    return verdict


# --- reporting ------------------------------------------------------------------------

LINES: list[str] = []


def record(verdict: Verdict) -> None:
    """Print the Jepsen line, keep it for the session summary and add it to faults.json."""
    line = verdict.line()
    print(f"[faults] {line}", flush=True)
    for kind, examples in verdict.examples.items():
        for example in examples:
            print(f"    {kind}: {example}", flush=True)
    LINES.append(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        summary = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        summary = {}
    if summary.get("session") != SESSION:
        summary = {"session": SESSION, "scenarios": {}}
    summary["scenarios"][verdict.scenario] = verdict.as_dict()
    RESULTS.write_text(json.dumps(summary, indent=2, default=str))


SESSION = str(uuid.uuid4())
