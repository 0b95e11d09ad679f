"""Offline sales (issue 15): a sale the till made while it could not reach the services,
synced when the link is back.

The goods and the money changed hands before the services heard of it, so a sync
never refuses a sale for what changed meanwhile. It is recorded as the till printed it
(prices, totals, its offline receipt number, the time it was sold) and each difference
from what the services know is listed as a sync exception for a manager: a price that
changed, a product archived or unknown, stock that was short (from inventory's
StockDeducted, flagged oversold as any sale without a reservation), a shift closed
before the sync, a sale past the outlet's offline limits, a receipt number printed twice.

Exactly once, by the till's sale id, on the same path as a checkout: the sale is stored
PENDING with its receipt, the cash is recorded by payments (idempotent by the sale id),
and the sale completes with SaleCompleted (completed_at = when it was sold). No stock is
reserved: inventory deducts it from SaleCompleted. A sync cut anywhere is finished by
the till posting the same sale again, or by the reconciler; nothing asks payments to
cancel an offline sale's payment (the cash is in the drawer)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from prometheus_client import Counter
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from pos_contracts.events import StockLine
from pos_platform.auth import Principal
from pos_platform.currencies import currency_problem
from pos_platform.db import UnitOfWork, iso_utc, utcnow
from pos_sales import cashiers, outlet_policy, registers
from pos_sales.checkout import Checkout, shelf_prices
from pos_sales.clients import PaymentAnswer
from pos_sales.domain import AppliedTender, CatalogPrice, CheckoutError, StampedRate, TenderIn, apply_foreign
from pos_sales.outcomes import Outcome, OutcomeUnknown, RecordedOnline, Refused, Replayed
from pos_sales.outlet_policy import OutletSettings
from pos_sales.schemas import OfflineSaleIn, OfflineTenderIn
from pos_sales.shifts import current_shift_id, load_shift
from pos_sales.tables import sale_lines, sale_tenders, sales, sync_exceptions


class SyncAdmission:
    """Turns for offline syncs, per process. A till coming back online sends its whole
    queue at once, one sale after the other; ten such tills would take most of the
    box from the tills selling now (issue 15's burst: online sales at a quarter of their
    rate, checkouts refused). The queued sales have waited already and nobody stands at
    the counter for them, so they take turns: `slots` at a time, and a sale that cannot
    have a turn within `wait_seconds` is told to come back later (429, Retry-After)."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._turns = asyncio.Semaphore(slots) if slots > 0 else None

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """Yields True while holding a turn, False when none came in time."""
        if self._turns is None:
            yield True
            return
        try:
            await asyncio.wait_for(self._turns.acquire(), self.wait_seconds)
        except TimeoutError:
            SYNCS_TURNED_AWAY.inc()
            yield False
            return
        try:
            yield True
        finally:
            self._turns.release()


SYNCS_TURNED_AWAY = Counter("pos_sales_offline_syncs_turned_away_total", "offline syncs answered 429: no turn within the wait")

# A till's clock may run a little ahead of the server's; beyond this it is an exception.
CLOCK_SKEW = timedelta(minutes=5)

# What one sync found, by kind: each finding's words (the exception's `detail`) and its
# facts in figures (its `facts`: amounts in minor units of the sale's currency, for a
# screen to show as money).
Found = dict[str, list[tuple[str, dict[str, Any]]]]


def _note(found: Found, kind: str, text: str, **facts: Any) -> None:
    found.setdefault(kind, []).append((text, facts))


def exception_rows(sale_id: str, outlet_id: str, receipt_number: str | None, found: Found, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "sale_id": sale_id,
            "outlet_id": outlet_id,
            "receipt_number": receipt_number,
            "kind": kind,
            "detail": "; ".join(text for text, _ in findings)[:500],
            "facts": json.dumps([facts for _, facts in findings]),
            "created_at": now,
        }
        for kind, findings in sorted(found.items())
    ]


# Tender fields added after the first offline syncs (left out of the hash when absent).
_LATER_TENDER_FIELDS = ("reader_ref", "currency", "foreign_minor", "rate", "rate_source", "rate_as_of")


def offline_hash(body: OfflineSaleIn) -> str:
    # A body that names no cashier hashes as it did before `cashier_id` existed, so a
    # sale stored by an older sync and sent again after an upgrade is the same sale;
    # likewise a cash tender without `reader_ref` (ADR 0073) or the foreign-cash fields.
    leave_out: dict[str, Any] = {"id": True} if body.cashier_id is not None else {"id": True, "cashier_id": True}
    plain = {
        i: {name: True for name in _LATER_TENDER_FIELDS if getattr(t, name) is None}
        for i, t in enumerate(body.tenders)
        if any(getattr(t, name) is None for name in _LATER_TENDER_FIELDS)
    }
    if plain:
        leave_out["tenders"] = plain
    return hashlib.sha256(body.model_dump_json(exclude=leave_out).encode()).hexdigest()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class _Refused(Exception):
    """The sale cannot be recorded as sent (a receipt that does not add up, another
    outlet's register): nothing is stored, the first transaction is rolled back."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.outcome = Refused("invalid", {"detail": detail})


class _UnknownRegister(Exception):
    """Not in the replica (yet): the sync waits for its announcement, then decides."""


class OfflineSync:
    def __init__(self, checkout: Checkout) -> None:
        self.checkout = checkout
        self.db = checkout.db
        self.settings = checkout.settings

    async def run(self, body: OfflineSaleIn, principal: Principal) -> Outcome:
        """The use case (ADR 0074): the sale as the till sent it and the cashier syncing
        it in, a typed outcome out; `http_answer` makes it the HTTP answer."""
        digest = offline_hash(body)
        answers = self.checkout.answers
        try:
            started = await run_in_threadpool(self._start, body, principal, digest)
            if started == "unknown_register" and await run_in_threadpool(registers.wait_until_known, self.db, body.register_id):
                # A register made a moment ago: its RegisterChanged has just arrived.
                started = await run_in_threadpool(self._start, body, principal, digest)
            if started == "unknown_register":
                started = await run_in_threadpool(self._start, body, principal, digest, True)
        except IntegrityError:
            return Replayed(await answers.wait_for_answer(body.id, digest, self.checkout.reconcile))
        if started == "wait":
            # Stored by an earlier sync whose payment was not confirmed: record the cash
            # again (payments answers a repeated id as the first time) and complete it.
            # A copy of this sync running at the same moment does the same; completing
            # is conditional on the sale still being PENDING, so it happens once.
            draft = await run_in_threadpool(self._pending_draft, body.id)
            if draft is None:
                return Replayed(await answers.wait_for_answer(body.id, digest, self.checkout.reconcile))
            started = offline_payment(body.id, draft)
        elif not isinstance(started, dict):
            assert started != "unknown_register"  # the last try, having waited, decides
            return started
        answer = await self.checkout.clients.capture(started, principal.token)
        if answer.outcome == "unknown":
            # Once more (payments answers a repeated id as the first time).
            answer = await self.checkout.clients.capture(started, principal.token)
        return await self.settle(body.id, answer, principal.token, by="offline-sync")

    async def settle(self, sale_id: str, answer: PaymentAnswer, token: str | None, *, by: str) -> Outcome:
        """Complete on a recorded payment; a payments service down or unsure leaves the
        sale for the next sync or the reconciler (never cancelled: the cash is taken)."""
        if answer.outcome in ("declined", "refused"):
            declined = await run_in_threadpool(self._card_declined_after_sale, sale_id, answer)
            if declined is not None:
                return declined
        if answer.outcome in ("unknown", "cancelled", "card_unreachable"):
            return OutcomeUnknown(
                {
                    "detail": "the sale is stored; payments has not confirmed it yet: sync it again later",
                    "sale_id": sale_id,
                    "status": "PENDING",
                },
            )
        return await self.checkout._settle(sale_id, answer, token, by=by)

    def _card_declined_after_sale(self, sale_id: str, answer: PaymentAnswer) -> Outcome | None:
        """A card the reader took offline and the issuer declined at capture (or payments
        refused to capture): the customer left with the goods, so the sale is completed
        all the same and the amount owed listed for a manager (`card_declined_after_sale`),
        in the transaction that completes it. None: not an offline card sale."""
        with self.db.transaction() as uow:
            draft_text = uow.session.scalar(
                select(sales.c.draft)
                .where(sales.c.id == sale_id, sales.c.status == "PENDING", sales.c.offline.is_(True))
                .with_for_update()
            )
            if draft_text is None:
                return None
            draft = json.loads(draft_text)
            cards = [t for t in draft["tenders"] if t["kind"] == "card"]
            if not cards:
                return None
            if "card_declined_after_sale" in draft:
                # A copy of this sync got here first (its completion is on its way).
                return self.checkout._complete(sale_id, "offline-sync")
            payment = answer.body.get("payment") if isinstance(answer.body.get("payment"), dict) else answer.body
            code = str(answer.body.get("decline_code") or (payment or {}).get("decline_code") or answer.status or "declined")
            owed = sum(t["amount_minor"] for t in cards)
            found: Found = {}
            _note(
                found,
                "card_declined_after_sale",
                f"the card taken offline on the reader ({owed}) was declined at capture ({code}): {answer.detail}",
                owed_minor=owed,
                decline_code=code,
                reader_refs=[t.get("reader_ref") for t in cards],
            )
            uow.session.execute(
                sync_exceptions.insert(),
                exception_rows(sale_id, draft["outlet_id"], draft["receipt_number"], found, utcnow()),
            )
            draft["card_declined_after_sale"] = {"owed_minor": owed, "decline_code": code}
            uow.session.execute(sales.update().where(sales.c.id == sale_id).values(draft=json.dumps(draft)))
        # Completed as any offline sale (PENDING -> COMPLETED once; a copy of this sync
        # finds it completed and the exception written once, above, under PENDING).
        return self.checkout._complete(sale_id, "offline-sync")

    def _online_attempt(self, uow: UnitOfWork, sale_id: str) -> Outcome | None:
        """The till tried this sale online first (same id) and lost the link mid-way, then
        took it offline. Completed online: that is the sale (RecordedOnline, recorded
        once). Failed online (nothing was charged, the stock released): the offline sale
        replaces it. Still being settled: sync again later."""
        row = uow.session.execute(
            select(sales.c.status, sales.c.offline, sales.c.answer).where(sales.c.id == sale_id).with_for_update()
        ).first()
        if row is None or row.offline:
            return None
        if row.status == "COMPLETED":
            return RecordedOnline({**json.loads(row.answer), "recorded": "online"})
        if row.status == "PENDING":
            return OutcomeUnknown(
                {
                    "detail": "this sale's online attempt is still being settled: sync it again in a moment",
                    "sale_id": sale_id,
                    "status": "PENDING",
                },
            )
        if row.status == "FAILED":
            uow.session.execute(sales.delete().where(sales.c.id == sale_id))
            uow.session.execute(sale_lines.delete().where(sale_lines.c.sale_id == sale_id))
            uow.session.execute(sale_tenders.delete().where(sale_tenders.c.sale_id == sale_id))
            return None
        return Refused(
            "conflict",
            {"detail": f"this sale id belongs to a cart that was {row.status.lower()}: the offline sale needs a manager"},
        )

    def _pending_draft(self, sale_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as uow:
            draft = uow.session.scalar(
                select(sales.c.draft).where(sales.c.id == sale_id, sales.c.status == "PENDING", sales.c.offline.is_(True))
            )
        return None if draft is None else json.loads(draft)

    # --- the first transaction -------------------------------------------------------------

    def _start(
        self, body: OfflineSaleIn, principal: Principal, digest: str, waited: bool = False
    ) -> Outcome | Literal["wait", "unknown_register"] | dict[str, Any]:
        try:
            with self.db.transaction() as uow:
                online = self._online_attempt(uow, body.id)
                if online is not None:
                    return online
                claimed = self.checkout.answers.claim(uow, body.id, digest)
                if claimed == "wait":
                    return claimed
                if claimed != "run":
                    return Replayed(claimed)
                return self._store(uow, body, principal, digest, waited)
        except _UnknownRegister:
            return "unknown_register"
        except _Refused as refused:
            return refused.outcome

    def _store(self, uow: UnitOfWork, body: OfflineSaleIn, principal: Principal, digest: str, waited: bool) -> dict[str, Any]:
        try:
            # A register deactivated since still syncs what it sold.
            register = registers.usable(uow, body.outlet_id, body.register_id, must_be_active=False)
        except registers.RegisterProblem as problem:
            if problem.unknown and not waited and registers.find(uow, body.register_id) is None:
                raise _UnknownRegister from None
            raise _Refused(str(problem)) from None
        assert register is not None
        if not body.receipt_number.startswith(f"R{register.number}-"):
            raise _Refused(
                f"receipt number {body.receipt_number} is not register {register.number}'s (R{register.number}-OFF...)"
            )
        policy = outlet_policy.load(uow, body.outlet_id, self.settings)
        if body.currency != policy.currency:
            raise _Refused(f"the sale is in {body.currency}, the outlet sells in {policy.currency}")
        now = utcnow()
        sold_at = _naive_utc(body.sold_at)
        found: Found = {}
        if sold_at > now + CLOCK_SKEW:
            ahead = int((sold_at - now).total_seconds())
            _note(
                found,
                "clock_ahead",
                f"the till's clock said {iso_utc(sold_at)}, {ahead} s ahead: counted as sold when it arrived",
                till_time=iso_utc(sold_at),
                seconds_ahead=ahead,
            )
            sold_at = now
        foreign = self._foreign_cash(body, policy, sold_at, found)
        known = self._price_differences(uow, body, found)
        self._limits(body, policy, sold_at, now, found)
        shift_id = self._shift(uow, body, found)
        duplicate = uow.session.scalar(
            select(func.count())
            .select_from(sales)
            .where(sales.c.outlet_id == body.outlet_id, sales.c.receipt_number == body.receipt_number)
        )
        if duplicate:
            others = uow.session.scalars(
                select(sales.c.id)
                .where(sales.c.outlet_id == body.outlet_id, sales.c.receipt_number == body.receipt_number)
                .order_by(sales.c.created_at)
                .limit(10)
            ).all()
            _note(
                found,
                "receipt_number_reused",
                f"receipt number {body.receipt_number} was printed by another sale of the outlet too (two tills as one register?)",
                other_sale_ids=list(others),
            )
        cashier = cashiers.who_sold(uow, body.outlet_id, body.cashier_id, principal)
        if cashier.problem:
            _note(found, "cashier_unknown", cashier.problem, recorded_under=cashier.name, named_elsewhere=cashier.named_elsewhere)
        # A till that did not know a line's category (its cart keeps none) gets the
        # catalogue's, so the sale counts under its category in every report, the live
        # read models and a rebuild from the history alike.
        categories = {pid: price.category_id for pid, price in known.items()}
        draft = self._receipt(body, cashier, policy, register, shift_id, sold_at, now, categories, foreign)
        uow.session.execute(
            insert(sales),
            {
                "id": body.id,
                "outlet_id": body.outlet_id,
                "register_id": body.register_id,
                "shift_id": shift_id,
                "cashier_id": cashier.user_id,
                "approved_by": None,
                "request_hash": digest,
                "status": "PENDING",
                "fulfilment": "pending",
                "oversold": False,
                "offline": True,
                "receipt_number": body.receipt_number,
                "receipt_duplicate": duplicate,
                "currency": body.currency,
                "total_minor": body.total_minor,
                "tax_minor": body.tax_minor,
                "discount_minor": draft["discount_minor"],
                "rounding_minor": body.rounding_minor,
                "refunded_minor": 0,
                "reprint_count": 0,
                "draft": json.dumps(draft),
                "created_at": now,
            },
        )
        uow.session.execute(
            sale_lines.insert(),
            [
                {
                    "sale_id": body.id,
                    **{k: v for k, v in line.items() if k != "discount_minor"},
                    "line_discount_minor": line["discount_minor"],
                    "cart_discount_minor": 0,
                    "refunded_qty": 0,
                    # The cost as sales' replica knows it at the sync (the till keeps no
                    # cost): SaleCompleted carries it, the receipt never does.
                    "unit_cost_minor": _cost(known, line["product_id"]),
                }
                for line in draft["lines"]
            ],
        )
        tender_rows = [
            {"sale_id": body.id, "seq": i, "kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor}
            for i, t in enumerate(body.tenders, start=1)
        ]
        if foreign is not None:
            for row, t in zip(tender_rows, body.tenders, strict=True):
                row.update(_foreign_columns(t) if t.kind == "foreign_cash" else dict.fromkeys(_FOREIGN_COLUMNS))
        uow.session.execute(sale_tenders.insert(), tender_rows)
        if found:
            uow.session.execute(
                sync_exceptions.insert(), exception_rows(body.id, body.outlet_id, body.receipt_number, found, now)
            )
        return offline_payment(body.id, draft)

    def _foreign_cash(self, body: OfflineSaleIn, policy: OutletSettings, sold_at: datetime, found: Found) -> AppliedTender | None:
        """The foreign-cash tender at the rate the till used, checked by the arithmetic a
        checkout settles with (a till whose figures do not follow from its own rate is
        refused: that is a bug, not a changed world). A currency the outlet no longer
        takes, or a rate already stale when the sale was made, is recorded and listed."""
        tender = next((t for t in body.tenders if t.kind == "foreign_cash"), None)
        if tender is None:
            return None
        code, rate, source, as_of = str(tender.currency), str(tender.rate), str(tender.rate_source), str(tender.rate_as_of)
        problem = currency_problem(code)
        if problem:
            raise _Refused(f"foreign_cash: {problem}")
        if code == policy.currency:
            raise _Refused(f"foreign_cash in {code}, the outlet's own currency: that is a cash tender")
        cards = sum(t.amount_minor for t in body.tenders if t.kind == "card")
        stamped = StampedRate(policy.currency, code, rate, source, as_of)
        try:
            part = apply_foreign(
                [TenderIn("foreign_cash", int(tender.foreign_minor or 0), currency=code)], body.total_minor - cards, stamped
            )
        except CheckoutError as exc:
            raise _Refused(f"the foreign cash does not add up: {exc}") from None
        change = tender.tendered_minor - tender.amount_minor
        if (part.amount_minor, part.change_minor) != (tender.amount_minor, change):
            raise _Refused(
                f"{tender.foreign_minor} {code} minor units at {rate} pay {part.amount_minor} with {part.change_minor} change, "
                f"not the {tender.amount_minor} with {change} change the till sent",
            )
        facts = {
            "currency": code,
            "foreign_minor": tender.foreign_minor,
            "amount_minor": part.amount_minor,
            "change_minor": part.change_minor,
            "rate": rate,
            "rate_source": source,
            "rate_as_of": as_of,
        }
        if code not in policy.accepted_currencies:
            takes = ", ".join(policy.accepted_currencies) or "no foreign currency"
            _note(
                found,
                "foreign_cash_not_accepted",
                f"{tender.foreign_minor} {code} minor units taken offline (worth {part.amount_minor}); the outlet takes {takes}",
                **facts,
                accepted=list(policy.accepted_currencies),
            )
        day = tender.as_of_date()
        limit = self.settings.rates_stale_after_days
        age = (sold_at.date() - day).days if isinstance(day, date) else None
        if age is not None and age > limit:
            _note(
                found,
                "foreign_cash_stale_rate",
                f"{code} taken offline at {rate} ({source}, {as_of}): {age} days old when sold, stale after {limit}",
                **facts,
                age_days=age,
                stale_after_days=limit,
            )
        return part

    def _price_differences(self, uow: UnitOfWork, body: OfflineSaleIn, found: Found) -> dict[str, CatalogPrice]:
        """Lists what differs from the catalogue as sales knows it; returns what it knows
        of the sale's products."""
        known = shelf_prices(uow, body.outlet_id, {line.product_id for line in body.lines}, active_only=False)
        active = set(shelf_prices(uow, body.outlet_id, set(known), active_only=True)) if known else set()
        for n, line in enumerate(body.lines, start=1):
            price = known.get(line.product_id)
            what = {"line": n, "product_id": line.product_id, "sku": line.sku, "name": line.name, "qty": line.qty}
            if price is None:
                _note(
                    found, "product_unknown", f"line {n} ({line.name}): product {line.product_id} is not in the catalogue", **what
                )
            elif line.product_id not in active:
                _note(found, "product_archived", f"line {n} ({line.name}): archived before the sale synced", **what)
            elif price.price_minor != line.unit_price_minor:
                _note(
                    found,
                    "price_changed",
                    f"line {n} ({line.name}): sold at {line.unit_price_minor}, the shelf price is {price.price_minor}",
                    **what,
                    sold_minor=line.unit_price_minor,
                    shelf_minor=price.price_minor,
                )
        return known

    @staticmethod
    def _limits(body: OfflineSaleIn, policy: OutletSettings, sold_at: datetime, now: datetime, found: Found) -> None:
        if now - sold_at > timedelta(hours=policy.offline_max_hours):
            hours = (now - sold_at).total_seconds() / 3600
            _note(
                found,
                "over_offline_limits",
                f"synced {hours:.1f} h after the sale; the outlet allows {policy.offline_max_hours} h offline",
                limit="hours",
                hours=round(hours, 1),
                allowed_hours=policy.offline_max_hours,
            )
        if policy.offline_max_sale_minor and body.total_minor > policy.offline_max_sale_minor:
            _note(
                found,
                "over_offline_limits",
                f"a sale of {body.total_minor}; the outlet allows {policy.offline_max_sale_minor} offline",
                limit="sale",
                total_minor=body.total_minor,
                allowed_minor=policy.offline_max_sale_minor,
            )
        card = sum(t.amount_minor for t in body.tenders if t.kind == "card")
        if card and not policy.offline_card_allowed:
            _note(
                found,
                "over_offline_limits",
                f"a card payment of {card} taken offline; the outlet does not allow deferred card capture",
                limit="card",
                card_minor=card,
            )
        elif card and card > policy.offline_card_max_sale_minor:
            _note(
                found,
                "over_offline_limits",
                f"a card payment of {card} taken offline; the outlet allows {policy.offline_card_max_sale_minor} by card offline",
                limit="card_sale",
                card_minor=card,
                allowed_minor=policy.offline_card_max_sale_minor,
            )
        gross = sum(line.unit_price_minor * line.qty for line in body.lines)
        discount = sum(line.discount_minor for line in body.lines)
        if gross and discount * 10_000 > gross * policy.discount_approval_bp:
            _note(
                found,
                "discount_unapproved",
                f"a discount of {discount} on {gross}, above the {policy.discount_approval_bp / 100:g} % a manager approves (no approval offline)",
                discount_minor=discount,
                gross_minor=gross,
                approval_bp=policy.discount_approval_bp,
            )

    @staticmethod
    def _shift(uow: UnitOfWork, body: OfflineSaleIn, found: Found) -> str | None:
        """The shift the till had open when it sold; closed since: kept (the sale was
        made in it) and listed, for its cash is missing from that Z-report."""
        if body.shift_id is None:
            return current_shift_id(uow, body.outlet_id, body.register_id)
        shift = load_shift(uow, body.shift_id)
        if shift is None or (shift.outlet_id, shift.register_id) != (body.outlet_id, body.register_id):
            _note(
                found,
                "shift_unknown",
                f"shift {body.shift_id} is not a shift of this register: the sale is in the register's open shift, if any",
                shift_id=body.shift_id,
            )
            return current_shift_id(uow, body.outlet_id, body.register_id)
        if shift.status != "open":
            cash = sum(t.amount_minor for t in body.tenders if t.kind == "cash")
            _note(
                found,
                "shift_closed",
                f"shift {body.shift_id} was closed before the sale synced: its cash ({cash}) is not in that Z-report",
                shift_id=body.shift_id,
                cash_minor=cash,
                closed_at=iso_utc(shift.closed_at),
            )
        return shift.id

    @staticmethod
    def _receipt(
        body: OfflineSaleIn,
        cashier: cashiers.Cashier,
        policy: OutletSettings,
        register: registers.Register,
        shift_id: str | None,
        sold_at: datetime,
        now: datetime,
        categories: dict[str, str | None],
        foreign: AppliedTender | None = None,
    ) -> dict[str, Any]:
        lines = [
            {
                "line_no": n,
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "category_id": line.category_id or categories.get(line.product_id),
                "qty": line.qty,
                "unit_price_minor": line.unit_price_minor,
                "gross_minor": line.unit_price_minor * line.qty,
                "discount_minor": line.discount_minor,
                "tax_rate_bp": line.tax_rate_bp,
                "tax_minor": line.tax_minor,
                "total_minor": line.total_minor,
            }
            for n, line in enumerate(body.lines, start=1)
        ]
        bands: dict[int, tuple[int, int]] = {}
        for line in body.lines:
            net, tax = bands.get(line.tax_rate_bp, (0, 0))
            bands[line.tax_rate_bp] = (net + line.total_minor - line.tax_minor, tax + line.tax_minor)
        tendered = sum(t.tendered_minor for t in body.tenders)
        return {
            "sale_id": body.id,
            "receipt_number": body.receipt_number,
            "outlet_id": body.outlet_id,
            "register_id": body.register_id,
            "register_number": register.number,
            "register_name": register.name,
            "shift_id": shift_id,
            "cashier_id": cashier.user_id,
            "cashier_name": cashier.name,
            "approved_by": None,
            "status": "COMPLETED",
            "currency": body.currency,
            "lines": lines,
            "tax": [{"rate_bp": rate, "net_minor": net, "tax_minor": tax} for rate, (net, tax) in sorted(bands.items())],
            "items": sum(line.qty for line in body.lines),
            "gross_minor": sum(line["gross_minor"] for line in lines),
            "discount_minor": sum(line.discount_minor for line in body.lines),
            "cart_discount": None,
            "subtotal_minor": body.total_minor - body.tax_minor,
            "tax_minor": body.tax_minor,
            "total_minor": body.total_minor,
            "rounding_minor": body.rounding_minor,
            "due_minor": body.total_minor + body.rounding_minor,
            "tenders": [
                {"kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor}
                | ({"reader_ref": t.reader_ref, "capture": "deferred"} if t.kind == "card" else {})
                | (_foreign_receipt(t, foreign) if t.kind == "foreign_cash" and foreign is not None else {})
                for t in body.tenders
            ],
            "tendered_minor": tendered,
            "change_minor": body.change_minor,
            "prices_include_tax": body.prices_include_tax,
            "shop": policy.receipt_shop(),
            "header": policy.receipt_header,
            "footer": policy.receipt_footer,
            "completed_at": iso_utc(sold_at),
            "offline": True,
            "received_at": iso_utc(now),
        }


def _cost(known: dict[str, CatalogPrice], product_id: str) -> int | None:
    price = known.get(product_id)
    return price.cost_minor if price is not None else None


def offline_payment(sale_id: str, draft: dict[str, Any]) -> dict[str, Any]:
    """What payments records for an offline sale (its tenders as the receipt has them)."""
    return {
        "payment_id": sale_id,
        "sale_id": sale_id,
        "outlet_id": draft["outlet_id"],
        "currency": draft["currency"],
        "amount_minor": draft["due_minor"],
        "tenders": [_payment_tender(t) for t in draft["tenders"]],
        "taken_at": draft["completed_at"],
    }


def _payment_tender(t: dict[str, Any]) -> dict[str, Any]:
    if t["kind"] == "card":
        return {"kind": "card", "amount_minor": t["amount_minor"], "reader_ref": t["reader_ref"]}
    if t["kind"] == "foreign_cash":
        # As a checkout sends it; payments records it at the till's rate (taken_at: offline).
        return {"kind": "foreign_cash", "amount_minor": t["amount_minor"]} | {k: t[k] for k in _FOREIGN_PAYMENT}
    return {"kind": t["kind"], "amount_minor": t["amount_minor"], "tendered_minor": t["tendered_minor"]}


_FOREIGN_PAYMENT = ("currency", "foreign_minor", "change_minor", "rate", "rate_source", "rate_as_of")
_FOREIGN_COLUMNS = ("currency", "foreign_minor", "rate", "rate_source", "rate_as_of", "change_minor")


def _foreign_receipt(t: OfflineTenderIn, part: AppliedTender) -> dict[str, Any]:
    """A foreign-cash tender on the offline receipt, as an online one reads."""
    return {
        "currency": t.currency,
        "foreign_minor": t.foreign_minor,
        "due_foreign_minor": part.due_foreign_minor,
        "change_minor": part.change_minor,
        "rate": t.rate,
        "rate_source": t.rate_source,
        "rate_as_of": t.rate_as_of,
    }


def _foreign_columns(t: OfflineTenderIn) -> dict[str, Any]:
    return {
        "currency": t.currency,
        "foreign_minor": t.foreign_minor,
        "rate": t.rate,
        "rate_source": t.rate_source,
        "rate_as_of": t.rate_as_of,
        "change_minor": t.tendered_minor - t.amount_minor,
    }


def record_stock_short(uow: UnitOfWork, sale_id: str, short: list[StockLine]) -> None:
    """An offline sale inventory deducted below zero: listed once (the goods left), with
    each product short, how many the sale took and what inventory has on hand after."""
    row = uow.session.execute(
        select(sales.c.outlet_id, sales.c.receipt_number, sales.c.offline).where(sales.c.id == sale_id)
    ).first()
    if row is None or not row.offline:
        return
    exists = uow.session.scalar(
        select(sync_exceptions.c.id).where(sync_exceptions.c.sale_id == sale_id, sync_exceptions.c.kind == "stock_short")
    )
    if exists is not None:
        return
    names = {
        r.product_id: r.name
        for r in uow.session.execute(select(sale_lines.c.product_id, sale_lines.c.name).where(sale_lines.c.sale_id == sale_id))
    }
    found: Found = {}
    for line in sorted(short, key=lambda line: line.product_id):
        name = names.get(line.product_id, line.product_id)
        _note(
            found,
            "stock_short",
            f"{name} ({line.product_id}): {line.qty} sold, {line.on_hand_after} on hand after",
            product_id=line.product_id,
            name=name,
            qty=line.qty,
            on_hand_after=line.on_hand_after,
        )
    [exception] = exception_rows(sale_id, row.outlet_id, row.receipt_number, found, utcnow())
    exception["detail"] = f"stock was short, deducted below zero (count the shelf): {exception['detail']}"[:500]
    uow.session.execute(sync_exceptions.insert().values(**exception))
