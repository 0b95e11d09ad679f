"""Taking and giving back money: the payment and refund flows around the card provider.

Order of work, so that nothing is ever charged twice or lost:
1. The payment (or refund) and its tenders are stored first, card tenders `pending`,
   in one transaction; the primary key (the caller's id) decides between racing copies.
2. Each pending card tender is sent to the provider with an idempotency key derived
   from the payment id and tender number, and its answer recorded with a conditional
   update (`WHERE status = 'pending'`).
3. The payment's final status is set under a row lock, once, and PaymentCaptured /
   PaymentRefunded written to the outbox in that same transaction.
An unknown answer leaves the tender pending; the next capture request or a reconcile
call repeats step 2 with the same key, which returns what the provider did.

A card processor that cannot be reached at all (every attempt refused before anything
was sent) is not unknown: nothing was charged. The payment becomes `unsent`, which
nothing drives on its own: a repeat of the capture request (the till posting the sale
again) sends it again, and a reconcile cancels it for good. Only the one request
talking to the processor for a payment may conclude `unsent` (drives_in_flight), since
another one's attempt may be on its way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from pos_contracts.events import PaymentCaptured, PaymentRefunded, TenderLine
from pos_payments.card import CardProvider, ChargeRequest, RefundRequest
from pos_payments.conversion import parse_rate, rate_text
from pos_payments.domain import (
    RefundRefused,
    TenderState,
    allocate_refund,
    capture_cash,
    cards_to_charge,
    cards_to_reverse,
    foreign_tender_problem,
    payment_status,
    tender_total_problem,
)
from pos_payments.rates_service import RatesService
from pos_payments.schemas import PaymentIn, PaymentOut, ReconcileIn, RefundIn, RefundOut, RefundTenderOut, TenderIn, TenderOut
from pos_payments.tables import payment_refund_tenders, payment_refunds, payment_tenders, payments
from pos_platform.db import Database, UnitOfWork, iso_utc, utcnow

log = logging.getLogger("pos.payments")

_FOREIGN_COLUMNS = ("currency", "foreign_minor", "rate", "rate_source", "rate_as_of")

# Built once (the statements of every capture).
_INSERT_PAYMENT = payments.insert()
_INSERT_TENDERS = payment_tenders.insert()

PAYMENTS_FINISHED = Counter("pos_payments_finished_total", "Payments reaching a final status", ["status"])


class PaymentProblem(Exception):
    """A request that cannot be served; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _AlreadyRecorded(Exception):
    """This refund id is already stored (checked under the payment's row lock)."""


@dataclass(frozen=True)
class Outcome:
    payment: PaymentOut
    created: bool


@dataclass(frozen=True)
class RefundOutcome:
    refund: RefundOut
    created: bool


def load_payments(uow: UnitOfWork, ids: list[str]) -> list[PaymentOut]:
    if not ids:
        return []
    rows = {r.id: r for r in uow.session.execute(select(payments).where(payments.c.id.in_(ids)))}
    tenders: dict[str, list[TenderOut]] = {i: [] for i in ids}
    for t in uow.session.execute(
        select(payment_tenders)
        .where(payment_tenders.c.payment_id.in_(ids))
        .order_by(payment_tenders.c.payment_id, payment_tenders.c.seq)
    ):
        tenders[t.payment_id].append(
            TenderOut(
                kind=t.kind,
                amount_minor=t.amount_minor,
                tendered_minor=t.tendered_minor,
                change_minor=t.change_minor,
                status=t.status,
                provider_ref=t.provider_ref,
                decline_code=t.decline_code,
                refunded_minor=t.refunded_minor,
                currency=t.currency,
                foreign_minor=t.foreign_minor,
                rate=t.rate,
                rate_source=t.rate_source,
                rate_as_of=t.rate_as_of,
            )
        )
    return [
        PaymentOut(
            payment_id=r.id,
            sale_id=r.sale_id,
            outlet_id=r.outlet_id,
            currency=r.currency,
            amount_minor=r.amount_minor,
            status=r.status,
            tenders=tenders[r.id],
            change_minor=sum(t.change_minor for t in tenders[r.id]),
            refunded_minor=r.refunded_minor,
            decline_code=r.decline_code,
            detail=r.detail,
        )
        for i in ids
        if (r := rows.get(i)) is not None
    ]


def load_refund(uow: UnitOfWork, refund_id: str) -> RefundOut | None:
    row = uow.session.execute(select(payment_refunds).where(payment_refunds.c.id == refund_id)).first()
    if row is None:
        return None
    parts = uow.session.execute(
        select(payment_refund_tenders)
        .where(payment_refund_tenders.c.refund_id == refund_id)
        .order_by(payment_refund_tenders.c.seq)
    ).all()
    return RefundOut(
        refund_id=row.id,
        payment_id=row.payment_id,
        sale_id=row.sale_id,
        outlet_id=row.outlet_id,
        currency=row.currency,
        amount_minor=row.amount_minor,
        status=row.status,
        detail=row.detail,
        tenders=[
            RefundTenderOut(kind=p.kind, amount_minor=p.amount_minor, status=p.status, provider_ref=p.provider_ref) for p in parts
        ],
    )


def _tender_rows(uow: UnitOfWork, payment_id: str) -> list[Any]:
    return list(
        uow.session.execute(
            select(payment_tenders).where(payment_tenders.c.payment_id == payment_id).order_by(payment_tenders.c.seq)
        )
    )


def _tender_state(r: Any) -> TenderState:
    return TenderState(r.seq, r.kind, r.status, r.amount_minor, r.refunded_minor)


def _tender_states(uow: UnitOfWork, payment_id: str) -> list[TenderState]:
    return [_tender_state(r) for r in _tender_rows(uow, payment_id)]


def _move_tender(uow: UnitOfWork, payment_id: str, seq: int, from_status: str, **values: Any) -> None:
    """Update a tender only while it is still in `from_status`: a second answer for it
    (a retry, a concurrent drive) changes nothing."""
    uow.session.execute(
        payment_tenders.update()
        .where(
            payment_tenders.c.payment_id == payment_id,
            payment_tenders.c.seq == seq,
            payment_tenders.c.status == from_status,
        )
        .values(**values)
    )


def tender_line(row: Mapping[str, Any]) -> TenderLine:
    """A tender as PaymentCaptured carries it: kind and amount in the payment's currency;
    a foreign-cash one also its currency, the amount handed over in it, the stamped rate
    with its source and date, and the change given in the payment's currency (optional
    fields of v1, as in SaleCompleted: ADR 0072). `row`: a payment_tenders row's mapping,
    or the dict written as one."""
    if row["kind"] != "foreign_cash":
        return TenderLine(kind=row["kind"], amount_minor=row["amount_minor"])
    return TenderLine(
        kind=row["kind"],
        amount_minor=row["amount_minor"],
        change_minor=row["change_minor"] or 0,
        **{column: row[column] for column in _FOREIGN_COLUMNS},
    )


def _card_row(seq: int, amount_minor: int, provider: str, token: str) -> dict[str, Any]:
    """A card tender's payment_tenders row before the provider is asked: pending, no
    change, the whole amount tendered; `provider` the column that says who charges it
    (the card provider's name, or the reader's), `token` what it charges."""
    return {
        "seq": seq,
        "kind": "card",
        "amount_minor": amount_minor,
        "tendered_minor": amount_minor,
        "change_minor": 0,
        "status": "pending",
        "provider": provider,
        "card_token": token,
    }


class PaymentService:
    def __init__(
        self, db: Database, provider: CardProvider, rates: RatesService | None = None, *, reader: CardProvider | None = None
    ) -> None:
        self.db = db
        self.provider = provider
        self.rates = rates
        # Captures of payments taken on a shop's card reader (ADR 0073), when set up.
        self.reader = reader

    def _provider_for(self, name: str | None) -> CardProvider:
        """The provider that took a card tender (its `provider` column)."""
        if name == "reader" and self.reader is not None:
            return self.reader
        return self.provider

    # --- capture -----------------------------------------------------------------------

    async def capture(self, body: PaymentIn) -> Outcome:
        problem = tender_total_problem(body.amount_minor, body.tenders)
        if problem:
            raise PaymentProblem(422, problem)
        rows: list[dict[str, Any]] = []
        for seq, tender in enumerate(body.tenders, 1):
            if tender.kind == "foreign_cash":
                rows.append(
                    {"seq": seq, **await run_in_threadpool(self._foreign_cash, body.currency, tender, body.taken_at is not None)}
                )
                continue
            if tender.kind == "cash":
                cash = capture_cash(tender)
                rows.append(
                    {
                        "seq": seq,
                        "kind": "cash",
                        "amount_minor": cash.amount_minor,
                        "tendered_minor": cash.tendered_minor,
                        "change_minor": cash.change_minor,
                        "status": "captured",
                        "provider": None,
                        "card_token": None,
                    }
                )
                continue
            if tender.reader_ref is not None:
                if self.reader is None:
                    raise PaymentProblem(422, "card readers are not set up here (POS_CARD_READER): take cash")
                rows.append(_card_row(seq, tender.amount_minor, self.reader.name, tender.reader_ref))
                continue
            if self.provider.name == "none":
                raise PaymentProblem(422, "card payments are not set up here: take cash")
            token = tender.card_token or self.provider.default_token()
            if not token:
                raise PaymentProblem(422, "a card tender needs the card_token the terminal gave")
            rows.append(_card_row(seq, tender.amount_minor, self.provider.name, token))
        if any(r["kind"] == "foreign_cash" for r in rows):
            for row in rows:
                for column in _FOREIGN_COLUMNS:
                    row.setdefault(column, None)
        try:
            payment = await run_in_threadpool(self._insert_payment, body, rows)
        except IntegrityError:
            payment = await run_in_threadpool(self._stored_payment, body)
        else:
            if payment.status == "pending":
                # Counted in by the insert, and its tenders known: no second read.
                states = [TenderState(i, r["kind"], r["status"], r["amount_minor"], 0) for i, r in enumerate(rows, 1)]
                tokens = {i: (r["provider"], r["card_token"] or "") for i, r in enumerate(rows, 1)}
                payment = await self.drive(body.payment_id, known=(body.currency, body.sale_id, states, tokens))
            return Outcome(payment, True)
        if payment.status == "unsent":
            # The processor could not be reached last time, so nothing was charged: the
            # till posted the sale again, send it again.
            payment = await run_in_threadpool(self._resend, body.payment_id)
        if payment.status == "pending":
            payment = await self.drive(payment.payment_id)
        return Outcome(payment, False)

    def _foreign_cash(self, local: str, tender: TenderIn, offline: bool = False) -> dict[str, Any]:
        """A foreign-cash tender's row, if its stamped rate is still the rate in force for
        the pair and its amount and change follow from it (pos_platform.conversion);
        else a 409 (the rate) or 422 (the arithmetic), before anything is stored. Cash a
        till took offline (`taken_at`) is recorded at the rate the till used, whatever
        is in force now (the money changed hands; sales lists a stale rate, ADR 0061)."""
        assert tender.currency is not None and tender.foreign_minor is not None and tender.rate is not None
        try:
            stamped = parse_rate(tender.rate)
        except ValueError as exc:
            raise PaymentProblem(422, f"foreign_cash rate: {exc}") from None
        if offline:
            return self._foreign_row(local, tender, stamped)
        if self.rates is None:
            raise PaymentProblem(422, "foreign cash is not set up here: no rates")
        pair = self.rates.rate(local, tender.currency)
        if not pair.usable or pair.rate is None:
            raise PaymentProblem(409, f"foreign cash refused: {pair.detail or f'there is no {local}/{tender.currency} rate'}")
        if pair.rate != stamped or pair.source != tender.rate_source:
            raise PaymentProblem(
                409,
                f"the {local}→{tender.currency} rate changed while the sale was being paid (now {rate_text(pair.rate)}, {pair.source}; "
                f"the sale had {tender.rate}, {tender.rate_source}): nothing was taken; ring the sale up again",
            )
        return self._foreign_row(local, tender, stamped)

    @staticmethod
    def _foreign_row(local: str, tender: TenderIn, stamped: Decimal) -> dict[str, Any]:
        assert tender.currency is not None and tender.foreign_minor is not None
        problem = foreign_tender_problem(
            tender.amount_minor, local, tender.currency, stamped, tender.foreign_minor, int(tender.change_minor or 0)
        )
        if problem:
            raise PaymentProblem(422, problem)
        return {
            "kind": "foreign_cash",
            "amount_minor": tender.amount_minor,
            "tendered_minor": tender.amount_minor + int(tender.change_minor or 0),
            "change_minor": int(tender.change_minor or 0),
            "status": "captured",
            "provider": None,
            "card_token": None,
            "currency": tender.currency,
            "foreign_minor": tender.foreign_minor,
            "rate": tender.rate,
            "rate_source": tender.rate_source,
            "rate_as_of": tender.rate_as_of,
        }

    def _insert_payment(self, body: PaymentIn, rows: list[dict[str, Any]]) -> PaymentOut:
        """Insert first: the primary key (payment id) and the unique sale id decide, even
        when two copies of one request race. A payment whose tenders are all taken already
        (cash) is stored captured, with PaymentCaptured, in the same statements; the answer
        is built from what was written, not read back."""
        now = utcnow()
        states = [TenderState(i, r["kind"], r["status"], r["amount_minor"], 0) for i, r in enumerate(rows, 1)]
        status = payment_status(states)
        with self.db.transaction() as uow:
            uow.session.execute(
                _INSERT_PAYMENT,
                {
                    "id": body.payment_id,
                    "sale_id": body.sale_id,
                    "outlet_id": body.outlet_id,
                    "currency": body.currency,
                    "amount_minor": body.amount_minor,
                    "status": status,
                    "refunded_minor": 0,
                    # A card to charge: this request talks to the processor from here on.
                    "drives_in_flight": int(status == "pending"),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            uow.session.execute(_INSERT_TENDERS, [{"payment_id": body.payment_id, "refunded_minor": 0, **r} for r in rows])
            if status == "captured":
                PAYMENTS_FINISHED.labels(status).inc()
                uow.publish(
                    PaymentCaptured(
                        payment_id=body.payment_id,
                        sale_id=body.sale_id,
                        outlet_id=body.outlet_id,
                        currency=body.currency,
                        amount_minor=body.amount_minor,
                        tenders=[tender_line(r) for r in rows],
                        taken_at=iso_utc(body.taken_at),
                    ),
                    outlet_id=body.outlet_id,
                )
        tenders = [
            TenderOut(
                kind=r["kind"],
                amount_minor=r["amount_minor"],
                tendered_minor=r["tendered_minor"],
                change_minor=r["change_minor"],
                status=r["status"],
                provider_ref=None,
                decline_code=None,
                refunded_minor=0,
                **{c: r.get(c) for c in _FOREIGN_COLUMNS},
            )
            for r in rows
        ]
        return PaymentOut(
            payment_id=body.payment_id,
            sale_id=body.sale_id,
            outlet_id=body.outlet_id,
            currency=body.currency,
            amount_minor=body.amount_minor,
            status=status,
            tenders=tenders,
            change_minor=sum(t.change_minor for t in tenders),
            refunded_minor=0,
            decline_code=None,
            detail=None,
        )

    def _stored_payment(self, body: PaymentIn) -> PaymentOut:
        with self.db.transaction() as uow:
            found = load_payments(uow, [body.payment_id])
            other_id = None if found else uow.session.scalar(select(payments.c.id).where(payments.c.sale_id == body.sale_id))
        if found:
            stored = found[0]
            if (stored.sale_id, stored.outlet_id, stored.currency, stored.amount_minor) != (
                body.sale_id,
                body.outlet_id,
                body.currency,
                body.amount_minor,
            ):
                raise PaymentProblem(409, "payment id already used for a different payment")
            return stored
        if other_id is not None:
            raise PaymentProblem(
                409,
                f"sale {body.sale_id} is already paid by payment {other_id}: "
                f"look it up with GET /api/payments/payments?sale_id={body.sale_id}",
            )
        raise PaymentProblem(503, "the payment could not be stored: try again")

    async def drive(
        self, payment_id: str, known: tuple[str, str, list[TenderState], dict[int, tuple[str | None, str]]] | None = None
    ) -> PaymentOut:
        """Take a pending payment as far as the provider's answers allow. This request is
        counted among those talking to the processor for the payment (drives_in_flight)
        from its first read (or the insert, when `known` comes from it) to its final
        write, each in a transaction it had anyway: for one card, the insert and the
        transaction recording the processor's answer, which also finalizes it."""
        currency, sale_id, states, tokens = known or await run_in_threadpool(self._card_work, payment_id, True)
        counted = True
        try:
            for tender in cards_to_charge(states):
                provider_name, token = tokens[tender.seq]
                outcome = await self._provider_for(provider_name).charge(
                    ChargeRequest(
                        key=f"{payment_id}:{tender.seq}",
                        amount_minor=tender.amount_minor,
                        currency=currency,
                        token=token,
                        description=f"POS sale {sale_id}",
                        metadata={"pos_payment_id": payment_id, "pos_sale_id": sale_id, "pos_tender_seq": str(tender.seq)},
                    )
                )
                if outcome.status == "unknown":
                    log.warning(
                        "card outcome unknown; payment stays pending", extra={"payment_id": payment_id, "seq": tender.seq}
                    )
                    await run_in_threadpool(self._record_maybe_sent, payment_id, tender.seq)
                    break
                if outcome.status == "unreachable":
                    if await run_in_threadpool(self._mark_unsent, payment_id):
                        log.warning(
                            "card processor unreachable, nothing sent: payment unsent",
                            extra={"payment_id": payment_id, "seq": tender.seq},
                        )
                    else:
                        log.warning(
                            "card processor unreachable, but a card was already charged or another request may have reached it: "
                            "payment stays pending",
                            extra={"payment_id": payment_id, "seq": tender.seq},
                        )
                    break
                states, finished = await run_in_threadpool(
                    self._record_charge,
                    payment_id,
                    tender.seq,
                    outcome.status,
                    outcome.reference,
                    outcome.decline_code,
                    outcome.message,
                )
                if finished is not None:
                    counted = False
                    return finished
                if outcome.status == "declined":
                    break
            for tender in cards_to_reverse(states):
                ref, provider_name = await run_in_threadpool(self._provider_ref, payment_id, tender.seq)
                outcome = await self._provider_for(provider_name).refund(
                    RefundRequest(
                        key=f"{payment_id}:{tender.seq}:reversal",
                        charge_reference=ref or "",
                        amount_minor=tender.amount_minor,
                        metadata={"pos_payment_id": payment_id, "reason": "another tender declined"},
                    )
                )
                if outcome.status != "refunded":
                    log.error(
                        "could not give back a captured card after a decline",
                        extra={"payment_id": payment_id, "seq": tender.seq, "outcome": outcome.status},
                    )
                    break
                await run_in_threadpool(self._record_reversal, payment_id, tender.seq)
            payment = await run_in_threadpool(self._finish_drive, payment_id)
            counted = False
            return payment
        finally:
            if counted:
                await run_in_threadpool(self._count_drive, payment_id, -1)

    def _finish_drive(self, payment_id: str) -> PaymentOut:
        """The payment's final status if the answers allow one, and this request counted
        out, in one transaction."""
        with self.db.transaction() as uow:
            return self._finish_in(uow, payment_id)

    def _finish_in(self, uow: UnitOfWork, payment_id: str) -> PaymentOut:
        self._finalize(uow, payment_id)
        uow.session.execute(
            payments.update().where(payments.c.id == payment_id).values(drives_in_flight=payments.c.drives_in_flight - 1)
        )
        return load_payments(uow, [payment_id])[0]

    def _count_drive(self, payment_id: str, step: int) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(
                payments.update().where(payments.c.id == payment_id).values(drives_in_flight=payments.c.drives_in_flight + step)
            )

    def _record_maybe_sent(self, payment_id: str, seq: int) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(
                payment_tenders.update()
                .where(payment_tenders.c.payment_id == payment_id, payment_tenders.c.seq == seq)
                .values(maybe_sent=True)
            )

    def _mark_unsent(self, payment_id: str) -> bool:
        """pending -> unsent, under the payment's row lock, only if nothing of it can
        have reached the processor: this request is the only one talking to the
        processor for it, no card of it was answered (a card already captured must not
        be left behind as "nothing charged"), and no earlier attempt went unanswered."""
        with self.db.transaction() as uow:
            row = uow.session.execute(
                select(payments.c.status, payments.c.drives_in_flight).where(payments.c.id == payment_id).with_for_update()
            ).one()
            if row.status != "pending" or row.drives_in_flight != 1:
                return False
            cards = uow.session.execute(
                select(payment_tenders.c.status, payment_tenders.c.maybe_sent).where(
                    payment_tenders.c.payment_id == payment_id, payment_tenders.c.kind == "card"
                )
            ).all()
            if any(card.status != "pending" or card.maybe_sent for card in cards):
                return False
            uow.session.execute(
                payments.update()
                .where(payments.c.id == payment_id)
                .values(
                    status="unsent", detail="the card processor could not be reached: nothing was charged", updated_at=utcnow()
                )
            )
            return True

    def _resend(self, payment_id: str) -> PaymentOut:
        """unsent -> pending (conditional: a copy of this request may have done it)."""
        with self.db.transaction() as uow:
            uow.session.execute(
                payments.update()
                .where(payments.c.id == payment_id, payments.c.status == "unsent")
                .values(status="pending", detail=None, updated_at=utcnow())
            )
            return load_payments(uow, [payment_id])[0]

    def _cancel_unsent(self, payment_id: str) -> PaymentOut:
        """unsent -> cancelled for good (conditional: a repeat of the capture may have
        sent it again meanwhile, then it is pending and reconciled as such)."""
        with self.db.transaction() as uow:
            done = uow.session.execute(
                payments.update()
                .where(payments.c.id == payment_id, payments.c.status == "unsent")
                .values(
                    status="cancelled",
                    detail="the card processor could not be reached: nothing was charged; cancelled by reconciliation",
                    updated_at=utcnow(),
                )
            ).rowcount
            if done:
                # The cash of a cancelled payment stays with the customer.
                uow.session.execute(
                    payment_tenders.update()
                    .where(payment_tenders.c.payment_id == payment_id, payment_tenders.c.kind == "cash")
                    .values(status="voided")
                )
            return load_payments(uow, [payment_id])[0]

    def _card_work(
        self, payment_id: str, count_in: bool = False
    ) -> tuple[str, str, list[TenderState], dict[int, tuple[str | None, str]]]:
        with self.db.transaction() as uow:
            if count_in:
                uow.session.execute(
                    payments.update().where(payments.c.id == payment_id).values(drives_in_flight=payments.c.drives_in_flight + 1)
                )
            row = uow.session.execute(select(payments.c.currency, payments.c.sale_id).where(payments.c.id == payment_id)).one()
            states = _tender_states(uow, payment_id)
            tokens = {
                r.seq: (r.provider, r.card_token or "")
                for r in uow.session.execute(
                    select(payment_tenders.c.seq, payment_tenders.c.provider, payment_tenders.c.card_token).where(
                        payment_tenders.c.payment_id == payment_id
                    )
                )
            }
        return row.currency, row.sale_id, states, tokens

    def _provider_ref(self, payment_id: str, seq: int) -> tuple[str | None, str | None]:
        """A card tender's reference at its provider, and which provider took it."""
        with self.db.transaction() as uow:
            row = uow.session.execute(
                select(payment_tenders.c.provider_ref, payment_tenders.c.provider).where(
                    payment_tenders.c.payment_id == payment_id, payment_tenders.c.seq == seq
                )
            ).one()
            return row.provider_ref, row.provider

    def _record_charge(
        self, payment_id: str, seq: int, status: str, ref: str | None, decline_code: str | None, message: str
    ) -> tuple[list[TenderState], PaymentOut | None]:
        """Record the provider's answer for a tender: the tenders as they are now, and the
        finished payment when nothing is left to charge or give back (finalized and this
        request counted out in the same transaction)."""
        with self.db.transaction() as uow:
            _move_tender(uow, payment_id, seq, "pending", status=status, provider_ref=ref, decline_code=decline_code)
            if status == "declined":
                uow.session.execute(
                    payments.update()
                    .where(payments.c.id == payment_id, payments.c.status == "pending", payments.c.decline_code.is_(None))
                    .values(decline_code=decline_code, detail=(message or "card declined")[:255], updated_at=utcnow())
                )
            states = _tender_states(uow, payment_id)
            if cards_to_reverse(states) or (status != "declined" and cards_to_charge(states)):
                return states, None
            return states, self._finish_in(uow, payment_id)

    def _record_reversal(self, payment_id: str, seq: int) -> None:
        with self.db.transaction() as uow:
            _move_tender(uow, payment_id, seq, "captured", status="reversed")

    def _finalize(self, uow: UnitOfWork, payment_id: str) -> None:
        """Set the payment's final status once (row lock), with its event."""
        row = uow.session.execute(select(payments).where(payments.c.id == payment_id).with_for_update()).one()
        if row.status != "pending":
            return
        tender_rows = _tender_rows(uow, payment_id)
        states = [_tender_state(r) for r in tender_rows]
        status = payment_status(states)
        if status == "pending":
            return
        uow.session.execute(payments.update().where(payments.c.id == payment_id).values(status=status, updated_at=utcnow()))
        if status == "declined":
            # The cash of a declined payment stays with the customer.
            uow.session.execute(
                payment_tenders.update()
                .where(payment_tenders.c.payment_id == payment_id, payment_tenders.c.kind == "cash")
                .values(status="voided")
            )
        PAYMENTS_FINISHED.labels(status).inc()
        if status == "captured":
            uow.publish(
                PaymentCaptured(
                    payment_id=payment_id,
                    sale_id=row.sale_id,
                    outlet_id=row.outlet_id,
                    currency=row.currency,
                    amount_minor=row.amount_minor,
                    tenders=[tender_line(r._mapping) for r in tender_rows],
                ),
                outlet_id=row.outlet_id,
            )

    # --- reconcile ---------------------------------------------------------------------

    async def reconcile(self, payment_id: str, body: ReconcileIn) -> PaymentOut:
        """Where a payment stands, settled as far as the provider allows. A payment that
        was never recorded is recorded as cancelled: from then on no copy of the capture
        request can take money for it."""

        def tombstone() -> None:
            now = utcnow()
            with self.db.transaction() as uow:
                uow.session.execute(
                    payments.insert().values(
                        id=payment_id,
                        sale_id=body.sale_id,
                        outlet_id=body.outlet_id,
                        currency=body.currency,
                        amount_minor=body.amount_minor,
                        status="cancelled",
                        refunded_minor=0,
                        detail="never captured: cancelled by reconciliation",
                        created_at=now,
                        updated_at=now,
                    )
                )

        def load() -> PaymentOut | None:
            with self.db.transaction() as uow:
                found = load_payments(uow, [payment_id])
            return found[0] if found else None

        payment = await run_in_threadpool(load)
        if payment is None:
            try:
                await run_in_threadpool(tombstone)
            except IntegrityError:
                pass
            payment = await run_in_threadpool(load)
            if payment is None:
                raise PaymentProblem(409, f"sale {body.sale_id} is paid under another payment id")
        if payment.sale_id != body.sale_id or payment.outlet_id != body.outlet_id:
            raise PaymentProblem(409, "payment id already used for a different payment")
        if payment.status == "unsent":
            # Nothing was charged, and the sale it was for is being settled now: it can
            # never be charged later (a late copy of the capture request finds it cancelled).
            payment = await run_in_threadpool(self._cancel_unsent, payment_id)
        if payment.status == "pending":
            payment = await self.drive(payment_id)
        return payment

    # --- refunds -----------------------------------------------------------------------

    async def refund(self, body: RefundIn) -> RefundOutcome:
        created = True
        try:
            await run_in_threadpool(self._insert_refund, body)
        except (IntegrityError, _AlreadyRecorded):
            created = False
        refund = await run_in_threadpool(self._stored_refund, body)
        if refund.status == "pending":
            refund = await self.drive_refund(body.refund_id)
        return RefundOutcome(refund, created)

    def _insert_refund(self, body: RefundIn) -> None:
        now = utcnow()
        with self.db.transaction() as uow:
            payment = uow.session.execute(select(payments).where(payments.c.id == body.payment_id).with_for_update()).first()
            if payment is None or payment.outlet_id != body.outlet_id:
                raise PaymentProblem(404, f"payment {body.payment_id} not found")
            if uow.session.scalar(select(payment_refunds.c.id).where(payment_refunds.c.id == body.refund_id)) is not None:
                raise _AlreadyRecorded(body.refund_id)
            if payment.status not in ("captured", "refunded"):
                raise PaymentProblem(
                    409, f"payment {body.payment_id} is {payment.status}: only a captured payment can be refunded"
                )
            if payment.currency != body.currency:
                raise PaymentProblem(422, f"the payment was in {payment.currency}, not {body.currency}")
            states = _tender_states(uow, body.payment_id)
            try:
                parts = allocate_refund(
                    states, [(t.kind, t.amount_minor) for t in body.tenders], payment.refunded_minor, payment.amount_minor
                )
            except RefundRefused as exc:
                raise PaymentProblem(422, str(exc)) from None
            total = sum(p.amount_minor for p in parts)
            has_card = any(p.kind == "card" for p in parts)
            uow.session.execute(
                payment_refunds.insert().values(
                    id=body.refund_id,
                    payment_id=body.payment_id,
                    sale_id=payment.sale_id,
                    outlet_id=payment.outlet_id,
                    currency=payment.currency,
                    amount_minor=total,
                    status="pending",
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.session.execute(
                payment_refund_tenders.insert(),
                [
                    {
                        "refund_id": body.refund_id,
                        "seq": seq,
                        "kind": p.kind,
                        "amount_minor": p.amount_minor,
                        "payment_tender_seq": p.payment_tender_seq,
                        "status": "pending" if has_card else "refunded",
                        "provider_ref": None,
                    }
                    for seq, p in enumerate(parts, 1)
                ],
            )
            # What is being refunded is spoken for at once: two refunds can never both take it.
            uow.session.execute(
                payments.update()
                .where(payments.c.id == body.payment_id)
                .values(refunded_minor=payments.c.refunded_minor + total, updated_at=now)
            )
            for p in parts:
                if p.payment_tender_seq is not None:
                    uow.session.execute(
                        payment_tenders.update()
                        .where(payment_tenders.c.payment_id == body.payment_id, payment_tenders.c.seq == p.payment_tender_seq)
                        .values(refunded_minor=payment_tenders.c.refunded_minor + p.amount_minor)
                    )
            if not has_card:
                self._finalize_refund(uow, body.refund_id)

    def _stored_refund(self, body: RefundIn) -> RefundOut:
        with self.db.transaction() as uow:
            refund = load_refund(uow, body.refund_id)
        if refund is None:
            raise PaymentProblem(503, "the refund could not be stored: try again")
        if (
            refund.payment_id != body.payment_id
            or refund.outlet_id != body.outlet_id
            or refund.amount_minor != sum(t.amount_minor for t in body.tenders)
        ):
            raise PaymentProblem(409, "refund id already used for a different refund")
        return refund

    async def drive_refund(self, refund_id: str) -> RefundOut:
        def work() -> list[tuple[int, int, str, str | None, str, str | None]]:
            with self.db.transaction() as uow:
                parts = uow.session.execute(
                    select(payment_refund_tenders, payment_refunds.c.payment_id)
                    .join(payment_refunds, payment_refunds.c.id == payment_refund_tenders.c.refund_id)
                    .where(payment_refund_tenders.c.refund_id == refund_id, payment_refund_tenders.c.kind == "card")
                    .order_by(payment_refund_tenders.c.seq)
                ).all()
                out = []
                for p in parts:
                    tender = uow.session.execute(
                        select(payment_tenders.c.provider_ref, payment_tenders.c.provider).where(
                            payment_tenders.c.payment_id == p.payment_id, payment_tenders.c.seq == p.payment_tender_seq
                        )
                    ).one()
                    out.append((p.seq, p.amount_minor, p.status, tender.provider_ref, p.payment_id, tender.provider))
                return out

        def record(seq: int, status: str, ref: str | None, message: str) -> None:
            with self.db.transaction() as uow:
                uow.session.execute(
                    payment_refund_tenders.update()
                    .where(
                        payment_refund_tenders.c.refund_id == refund_id,
                        payment_refund_tenders.c.seq == seq,
                        payment_refund_tenders.c.status == "pending",
                    )
                    .values(status=status, provider_ref=ref)
                )
                if status == "failed":
                    uow.session.execute(
                        payment_refunds.update()
                        .where(payment_refunds.c.id == refund_id, payment_refunds.c.detail.is_(None))
                        .values(detail=message[:255] or "card refund failed")
                    )

        for seq, amount, status, ref, payment_id, provider_name in await run_in_threadpool(work):
            if status != "pending":
                continue
            outcome = await self._provider_for(provider_name).refund(
                RefundRequest(
                    key=f"refund:{refund_id}:{seq}",
                    charge_reference=ref or "",
                    amount_minor=amount,
                    metadata={"pos_refund_id": refund_id, "pos_payment_id": payment_id},
                )
            )
            if outcome.status == "unknown":
                break
            await run_in_threadpool(record, seq, outcome.status, outcome.reference, outcome.message)
            if outcome.status == "failed":
                break

        def finish() -> RefundOut:
            with self.db.transaction() as uow:
                self._finalize_refund(uow, refund_id)
                found = load_refund(uow, refund_id)
            assert found is not None
            return found

        return await run_in_threadpool(finish)

    def _finalize_refund(self, uow: UnitOfWork, refund_id: str) -> None:
        row = uow.session.execute(select(payment_refunds).where(payment_refunds.c.id == refund_id).with_for_update()).one()
        if row.status != "pending":
            return
        parts = uow.session.execute(select(payment_refund_tenders).where(payment_refund_tenders.c.refund_id == refund_id)).all()
        cards = [p for p in parts if p.kind == "card"]
        now = utcnow()
        if any(p.status == "pending" for p in cards) and not any(p.status == "failed" for p in cards):
            return
        if any(p.status == "failed" for p in cards):
            # Nothing more is paid out: cash parts are cancelled, and what was spoken
            # for but not refunded becomes refundable again.
            unpaid = [p for p in parts if p.status != "refunded"]
            back = sum(p.amount_minor for p in unpaid)
            for p in unpaid:
                uow.session.execute(
                    payment_refund_tenders.update()
                    .where(payment_refund_tenders.c.refund_id == refund_id, payment_refund_tenders.c.seq == p.seq)
                    .values(status="failed" if p.status == "failed" else "cancelled")
                )
                if p.payment_tender_seq is not None:
                    uow.session.execute(
                        payment_tenders.update()
                        .where(payment_tenders.c.payment_id == row.payment_id, payment_tenders.c.seq == p.payment_tender_seq)
                        .values(refunded_minor=payment_tenders.c.refunded_minor - p.amount_minor)
                    )
            uow.session.execute(
                payments.update()
                .where(payments.c.id == row.payment_id)
                .values(refunded_minor=payments.c.refunded_minor - back, updated_at=now)
            )
            uow.session.execute(
                payment_refunds.update().where(payment_refunds.c.id == refund_id).values(status="failed", updated_at=now)
            )
            return
        uow.session.execute(
            payment_refund_tenders.update()
            .where(payment_refund_tenders.c.refund_id == refund_id, payment_refund_tenders.c.kind == "cash")
            .values(status="refunded")
        )
        uow.session.execute(
            payment_refunds.update().where(payment_refunds.c.id == refund_id).values(status="refunded", updated_at=now)
        )
        payment = uow.session.execute(select(payments).where(payments.c.id == row.payment_id).with_for_update()).one()
        if payment.refunded_minor >= payment.amount_minor and payment.status == "captured":
            uow.session.execute(
                payments.update().where(payments.c.id == row.payment_id).values(status="refunded", updated_at=now)
            )
        uow.publish(
            PaymentRefunded(
                refund_id=refund_id,
                payment_id=row.payment_id,
                sale_id=row.sale_id,
                outlet_id=row.outlet_id,
                currency=row.currency,
                amount_minor=row.amount_minor,
                tenders=[TenderLine(kind=p.kind, amount_minor=p.amount_minor) for p in parts],
            ),
            outlet_id=row.outlet_id,
        )
