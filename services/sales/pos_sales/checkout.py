"""Checkout saga: price -> reserve stock (inventory) -> capture payment (payments) ->
complete with SaleCompleted in the outbox. Idempotent by the till's sale id.

The sale is stored PENDING, with its receipt drafted, before anything leaves the
service. From then on exactly one of two things happens, whoever gets there first
(this request, a retry of it, or the reconciler after a crash): the sale is completed
(payment captured) or failed (payment declined, cancelled or never taken, and the
reservation released). Completion and failure are conditional on the row still being
PENDING, under a row lock, so neither can happen twice.

`Checkout.run` is the use case: a plain command (the sale, the principal, an approval
port) in, a typed outcome (pos_sales.outcomes) out; the route maps it to HTTP, and the
same mapping gives the status stored with the answer (ADR 0074).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from prometheus_client import Counter
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from pos_platform.auth import Principal
from pos_platform.conversion import parse_rate
from pos_platform.db import Database, UnitOfWork, upsert, utcnow
from pos_sales import audit, events, outlet_policy, registers
from pos_sales.approval import Approval, ApprovalPort, ApprovalRequired, approve, record_use
from pos_sales.clients import PaymentAnswer, ServiceClients
from pos_sales.config import Settings
from pos_sales.domain import (
    AppliedTender,
    CartLine,
    CatalogPrice,
    CheckoutError,
    Discount,
    PricedCart,
    PricedLine,
    Settlement,
    StampedRate,
    TenderIn,
    apply_line_taxes,
    discounts_needing_approval,
    price_cart,
    require_outlet_currency,
    settle,
)
from pos_sales.hops import HopError, HopResponse
from pos_sales.idempotency import Answer, StoredAnswers
from pos_sales.outcomes import (
    Declined,
    NeedsApproval,
    Outcome,
    OutcomeUnknown,
    Reason,
    Refused,
    Replayed,
    SaleCompleted,
    StockShort,
    Unavailable,
    http_answer,
)
from pos_sales.outlet_policy import OutletSettings
from pos_sales.schemas import CartIn, DiscountIn, SaleIn, SaleLineIn
from pos_sales.shifts import current_shift_id
from pos_sales.tables import outlet_prices, price_replica, receipt_counters, sale_lines, sale_tax_lines, sale_tenders, sales
from pos_sales.tax import TaxAnswer, TaxDesk, TaxRequest, address_of, estimated, jurisdiction_totals, tax_request

log = logging.getLogger("pos.sales.checkout")

CARD_UNREACHABLE = "the card processor cannot be reached: nothing was charged; try again or take another tender"

SALES_FINISHED = Counter("pos_sales_finished_total", "Sales reaching a final status", ["status", "by"])


def request_hash(body: SaleIn) -> str:
    # The approval token is left out: a retry may carry a freshly issued one.
    return hashlib.sha256(body.model_dump_json(exclude={"id", "approved_by"}, exclude_none=True).encode()).hexdigest()


def to_discount(value: DiscountIn | None) -> Discount | None:
    return None if value is None else Discount(value.kind, value.value, value.reason or "")


def cart_lines(lines: list[SaleLineIn]) -> list[CartLine]:
    return [CartLine(line.product_id, line.qty, to_discount(line.discount)) for line in lines]


@dataclass(frozen=True)
class Quote:
    policy: OutletSettings
    cart: PricedCart
    shift_id: str | None
    register: registers.Register | None = None
    prices: dict[str, CatalogPrice] | None = None
    tax: TaxAnswer | None = None  # None: the built-in table (today's path, nothing extra)

    def tax_request(self, reference: str) -> TaxRequest:
        classes = {pid: p.tax_class for pid, p in (self.prices or {}).items()}
        return tax_request(self.cart, classes, address_of(self.policy), reference)

    def with_tax(self, answer: TaxAnswer) -> Quote:
        """The quote with the tax a calculation (or a signed quote) gave."""
        return replace(self, cart=apply_line_taxes(self.cart, answer.lines), tax=answer)


@dataclass(frozen=True)
class TaxNeeded:
    """The outlet's tax comes from the API and the sale brought no quote of it: the
    first transaction is rolled back, the API asked, and the sale started again."""

    quote: Quote
    request: TaxRequest


def _shelf_price_query(active_only: bool) -> Any:
    own = outlet_prices.c.price_minor
    query = select(
        price_replica, own.label("outlet_price_minor"), outlet_prices.c.currency.label("outlet_price_currency")
    ).outerjoin(
        outlet_prices,
        (outlet_prices.c.product_id == price_replica.c.product_id) & (outlet_prices.c.outlet_id == bindparam("outlet_id")),
    )
    query = query.where(price_replica.c.product_id.in_(bindparam("ids", expanding=True)))
    return query.where(price_replica.c.active.is_(True)) if active_only else query


# Built once: every checkout and quote prices its cart with one of these.
_SHELF_PRICES = {True: _shelf_price_query(True), False: _shelf_price_query(False)}


def shelf_prices(uow: UnitOfWork, outlet_id: str, ids: set[str], *, active_only: bool = True) -> dict[str, CatalogPrice]:
    """The replica's products with the price charged at `outlet_id`: the outlet's own
    shelf price (in its currency, the outlet's) where catalog announced one, else the
    product's price; and the product's cost, read in the same statement (for the sale
    lines and SaleCompleted only, never for the till)."""
    return {
        r.product_id: CatalogPrice(
            r.product_id,
            r.sku,
            r.name,
            r.category_id,
            r.price_minor if r.outlet_price_minor is None else r.outlet_price_minor,
            r.currency if r.outlet_price_minor is None else (r.outlet_price_currency or r.currency),
            r.tax_class,
            r.cost_minor,
        )
        for r in uow.session.execute(_SHELF_PRICES[active_only], {"outlet_id": outlet_id, "ids": sorted(ids)}).all()
    }


def price(uow: UnitOfWork, settings: Settings, cart: CartIn | SaleIn) -> Quote:
    """Price a cart from the replica and the outlet's settings (one transaction). A
    register that is not the outlet's, or is deactivated, is a RegisterProblem."""
    register = registers.usable(uow, cart.outlet_id, cart.register_id)
    policy = outlet_policy.load(uow, cart.outlet_id, settings)
    prices = shelf_prices(uow, cart.outlet_id, {line.product_id for line in cart.lines})
    lines = cart_lines(cart.lines)
    require_outlet_currency(lines, prices, policy.currency)
    priced = price_cart(lines, prices, policy=policy.pricing(), cart_discount=to_discount(cart.discount))
    return Quote(policy, priced, current_shift_id(uow, cart.outlet_id, cart.register_id), register, prices)


def quote_body(quote: Quote) -> dict[str, Any]:
    """What the till shows before payment: lines, discounts, tax, total, and which
    discounts would need a manager."""
    cart = quote.cart
    return (
        _cart_json(cart)
        | {
            "cash_rounding_minor": quote.policy.cash_rounding_minor,
            "needs_approval": discounts_needing_approval(cart, quote.policy.pricing()),
        }
        | _tax_json(quote.tax)
    )


def _cart_json(cart: PricedCart) -> dict[str, Any]:
    """A priced cart's lines, tax bands and totals, alike in the quote and the receipt."""
    return {
        "currency": cart.currency,
        "lines": [_line_json(line) for line in cart.lines],
        "tax": [{"rate_bp": b.rate_bp, "net_minor": b.net_minor, "tax_minor": b.tax_minor} for b in cart.tax_bands()],
        "items": cart.items,
        "gross_minor": cart.gross_minor,
        "discount_minor": cart.discount_minor,
        "subtotal_minor": cart.subtotal_minor,
        "tax_minor": cart.tax_minor,
        "total_minor": cart.total_minor,
        "prices_include_tax": cart.prices_include_tax,
    }


def _tax_json(answer: TaxAnswer | None) -> dict[str, Any]:
    """Who calculated the tax, for quotes and receipts; nothing for the built-in table
    (its receipts stay as they were)."""
    if answer is None:
        return {}
    return {
        "tax_source": answer.source,
        "tax_estimated": answer.estimated,
        "tax_estimated_reason": answer.reason,
        "tax_calculation_id": answer.calculation_id,
        "tax_jurisdictions": jurisdiction_totals(answer),
    }


def _line_columns(line: PricedLine) -> dict[str, Any]:
    """What a priced line says of itself, alike in its receipt line and its sale_lines row."""
    return {
        "line_no": line.line_no,
        "product_id": line.product_id,
        "sku": line.sku,
        "name": line.name,
        "category_id": line.category_id,
        "qty": line.qty,
        "unit_price_minor": line.unit_price_minor,
        "gross_minor": line.gross_minor,
        "tax_rate_bp": line.tax_rate_bp,
        "tax_minor": line.tax_minor,
        "total_minor": line.total_minor,
    }


def _line_json(line: PricedLine) -> dict[str, Any]:
    return _line_columns(line) | {"discount_minor": line.discount_minor}


def draft_receipt(
    body: SaleIn, principal: Principal, quote: Quote, settlement: Settlement, approver: str | None
) -> dict[str, Any]:
    """The receipt as JSON, less its number and time (given at completion)."""
    cart = quote.cart
    return {
        "sale_id": body.id,
        "receipt_number": None,
        "outlet_id": body.outlet_id,
        "register_id": body.register_id,
        "register_number": quote.register.number if quote.register else None,
        "register_name": quote.register.name if quote.register else None,
        "shift_id": quote.shift_id,
        "cashier_id": principal.user_id,
        "cashier_name": principal.name,
        "approved_by": approver,
        "status": "COMPLETED",
        **_cart_json(cart),
        "cart_discount": None
        if cart.cart_discount is None
        else {"kind": cart.cart_discount.kind, "value": cart.cart_discount.value, "reason": cart.cart_discount.reason},
        "rounding_minor": settlement.rounding_minor,
        "due_minor": settlement.due_minor,
        "tenders": [_tender_json(t) for t in settlement.tenders],
        "tendered_minor": settlement.tendered_minor,
        "change_minor": settlement.change_minor,
        "shop": quote.policy.receipt_shop(),
        "header": quote.policy.receipt_header,
        "footer": quote.policy.receipt_footer,
        "completed_at": None,
    } | _tax_json(quote.tax)


# The next number of a register's sequence in one statement on MariaDB: the counter row
# is created at 1 or incremented, and LAST_INSERT_ID(expr) hands the value back in the
# statement's own answer (its insert id), under the row lock until commit.
_NEXT_NUMBER_MYSQL = text(
    "INSERT INTO receipt_counters (outlet_id, register_id, last_number) VALUES (:outlet_id, :register_id, LAST_INSERT_ID(1)) "
    "ON DUPLICATE KEY UPDATE last_number = LAST_INSERT_ID(last_number + 1)"
)
_LAST_NUMBER = select(receipt_counters.c.last_number).where(
    receipt_counters.c.outlet_id == bindparam("outlet_id"), receipt_counters.c.register_id == bindparam("register_id")
)


def receipt_number(uow: UnitOfWork, outlet_id: str, register_id: str | None, register_number: int | None) -> str:
    """The next number in the register's sequence (row-locked until commit), labelled
    with the register's number: unique in the outlet, without gaps per register."""
    keys = {"outlet_id": outlet_id, "register_id": register_id or ""}
    if uow.session.get_bind().dialect.name == "mysql":
        number = uow.session.execute(_NEXT_NUMBER_MYSQL, keys).lastrowid
    else:
        upsert(uow.session, receipt_counters, keys, increments={"last_number": 1})
        number = uow.session.scalar(_LAST_NUMBER, keys)
    return registers.receipt_label(register_id, register_number, number)


def _register_number(uow: UnitOfWork, row: Any, draft: dict[str, Any]) -> int | None:
    """The number of the register a drafted sale was rung on: stamped in the draft, or
    (a sale drafted before register numbers existed) looked up in the replica."""
    if not row.register_id:
        return None
    if draft.get("register_number") is not None:
        return int(draft["register_number"])
    found = registers.find(uow, row.register_id)
    return found.number if found is not None else None


# Statements of the sale path, built once (a statement built per call paid its cache key).
_LOCK_SALE = select(sales).where(sales.c.id == bindparam("sale_id")).with_for_update()
_COMPLETE_SALE = (
    sales.update()
    .where(sales.c.id == bindparam("sale_id"))
    .values(
        status="COMPLETED",
        receipt_number=bindparam("v_number"),
        completed_at=bindparam("v_at"),
        http_status=bindparam("v_status"),
        answer=bindparam("v_answer"),
    )
)
_INSERT_SALE = sales.insert()


LineCosts = dict[int, int | None]  # line_no -> the product's unit cost when sold (None: not known)


def line_costs(quote: Quote) -> LineCosts:
    """Each line's unit cost from the replica rows the cart was priced with: kept on
    sale_lines and carried by SaleCompleted (never on the receipt or the quote)."""
    prices = quote.prices or {}
    costs: LineCosts = {}
    for line in quote.cart.lines:
        known = prices.get(line.product_id)
        costs[line.line_no] = known.cost_minor if known is not None else None
    return costs


def sale_line_rows(sale_id: str, cart: PricedCart, costs: LineCosts | None = None) -> list[dict[str, Any]]:
    """The sale_lines rows of a priced cart (a sale, or a voided cart kept as one)."""
    costs = costs or {}
    return [
        _line_columns(line)
        | {
            "sale_id": sale_id,
            "line_discount_minor": line.line_discount_minor,
            "cart_discount_minor": line.cart_discount_minor,
            "refunded_qty": 0,
            "unit_cost_minor": costs.get(line.line_no),
        }
        for line in cart.lines
    ]


# The line costs of a sale completed without the priced cart at hand (the reconciler, an
# offline sale synced): one statement, off the online sale path.
_LINE_COSTS = select(sale_lines.c.line_no, sale_lines.c.unit_cost_minor).where(sale_lines.c.sale_id == bindparam("sale_id"))


class Checkout:
    def __init__(self, db: Database, settings: Settings, clients: ServiceClients) -> None:
        self.db = db
        self.settings = settings
        self.clients = clients
        self.tax = TaxDesk(settings)
        self.answers = StoredAnswers(
            db,
            sales,
            [
                (sale_lines, sale_lines.c.sale_id),
                (sale_tenders, sale_tenders.c.sale_id),
                (sale_tax_lines, sale_tax_lines.c.sale_id),
            ],
            "sale",
            settings.reconcile_after_seconds,
        )

    async def close(self) -> None:
        await self.clients.close()
        await self.tax.close()

    # --- the request ---------------------------------------------------------------------

    async def run(self, body: SaleIn, principal: Principal, approvals: ApprovalPort) -> Outcome:
        """One transaction to look the id up, price the cart and store the sale PENDING;
        then the reservation and the capture; then one transaction to complete it."""
        digest = request_hash(body)
        rate: StampedRate | None = None
        refusal: Outcome | None = None
        if any(t.kind == "foreign_cash" for t in body.tenders):
            # Only a sale with foreign cash asks payments for the rate (one hop, before
            # anything is stored); the cash and card path is unchanged.
            stamped = await self._stamp_rate(body, principal)
            if not isinstance(stamped, StampedRate):
                if await run_in_threadpool(self.answers.stored, body.id) is None:
                    return stamped  # nothing stored
                refusal = stamped  # a repeat: answered as before by _start
            else:
                rate = stamped
        try:
            started = await run_in_threadpool(self._start, body, principal, approvals, digest, False, rate, refusal)
        except IntegrityError:
            # The same sale id is being posted at this very moment: answer as it does.
            return Replayed(await self.answers.wait_for_answer(body.id, digest, self.reconcile))
        if isinstance(started, TaxNeeded):
            # Only an outlet taxed by the API, and a sale that brought no quote of it.
            answer = await self.tax.calculate(started.quote.cart, started.quote.policy, started.request)
            tax = (started.request.fingerprint(), answer)
            try:
                started = await run_in_threadpool(self._start, body, principal, approvals, digest, False, rate, refusal, tax)
            except IntegrityError:
                return Replayed(await self.answers.wait_for_answer(body.id, digest, self.reconcile))
            assert not isinstance(started, TaxNeeded)
        if started == "wait":
            return Replayed(await self.answers.wait_for_answer(body.id, digest, self.reconcile))
        if not isinstance(started, tuple):
            return started
        draft, settlement, costs = started
        return await self._finish(body.id, draft, settlement, principal.token, costs)

    async def _stamp_rate(self, body: SaleIn, principal: Principal) -> StampedRate | Refused | Unavailable:
        """The rate for the sale's foreign-cash tender, decided here (payments' rate in
        force), never taken from the till; or the refusal, with its reason."""
        tender = next(t for t in body.tenders if t.kind == "foreign_cash")
        code = str(tender.currency)
        policy = await run_in_threadpool(self._policy, body.outlet_id)
        if code not in policy.accepted_currencies:
            takes = ", ".join(policy.accepted_currencies) or "no foreign currency"
            return Refused(
                "invalid",
                {
                    "detail": f"this outlet does not take {code} cash (it takes {takes}): a manager lists the accepted currencies in the outlet's settings",
                    "code": "currency_not_accepted",
                },
            )
        quoted = None
        if tender.quoted_rate is not None:
            try:
                quoted = parse_rate(tender.quoted_rate)
            except ValueError as exc:
                return Refused("invalid", {"detail": f"quoted_rate: {exc}"})
        found = await self.clients.rate(policy.currency, code, principal.token)
        if found is None:
            return Unavailable(
                {
                    "detail": f"no rate for {code} could be had from the payments service: nothing was charged; try again or take another tender"
                },
            )
        if not found.get("usable") or not found.get("rate"):
            reason = found.get("detail") or f"there is no {policy.currency}/{code} rate"
            why: Reason = "invalid" if found.get("status") == 422 else "conflict"
            return Refused(why, {"detail": f"foreign cash refused: {reason}", "code": "rate_unusable", "currency": code})
        manual = found.get("manual") or {}
        as_of = manual.get("set_at") if found.get("source") == "manual" and manual else found.get("reference_date")
        stamped = StampedRate(policy.currency, code, str(found["rate"]), str(found.get("source")), str(as_of))
        if quoted is not None and quoted != parse_rate(stamped.rate):
            return Refused(
                "conflict",
                {
                    "detail": f"the {policy.currency}→{code} rate is now {stamped.rate} ({stamped.source}, {stamped.as_of}), not the "
                    f"{tender.quoted_rate} the pay dialog showed: nothing was charged; tell the customer the new amount and take the payment again",
                    "code": "rate_changed",
                    "currency": code,
                    "rate": stamped.rate,
                    "rate_source": stamped.source,
                    "rate_as_of": stamped.as_of,
                },
            )
        return stamped

    def _policy(self, outlet_id: str) -> OutletSettings:
        with self.db.transaction() as uow:
            return outlet_policy.load(uow, outlet_id, self.settings)

    def _start(
        self,
        body: SaleIn,
        principal: Principal,
        approvals: ApprovalPort,
        digest: str,
        waited: bool = False,
        rate: StampedRate | None = None,
        refusal: Outcome | None = None,
        tax: tuple[str, TaxAnswer] | None = None,
    ) -> Outcome | Literal["wait"] | TaxNeeded | tuple[dict[str, Any], Settlement, LineCosts]:
        """The first transaction: a repeated id is answered as before (or waits for the
        copy running, or runs again after a retryable failure); a new one is priced from
        the replica and stored PENDING with its lines, tenders and drafted receipt (and
        the lines' costs handed on to the completion, kept out of the receipt). An
        answer that stores nothing (422, 403) rolls everything back."""
        try:
            with self.db.transaction() as uow:
                claimed = self.answers.claim(uow, body.id, digest)
                if claimed == "wait":
                    return claimed
                if claimed != "run":
                    return Replayed(claimed)
                if refusal is not None:
                    raise _Refused(refusal)
                try:
                    quote = price(uow, self.settings, body)
                    if tax is not None or body.tax_quote is not None or self.tax.uses_external(quote.policy):
                        quote = self._taxed(quote, body, tax)
                    settlement = settle(
                        quote.cart.total_minor,
                        [TenderIn(t.kind, t.amount_minor, t.card_token, t.currency, t.reader_ref) for t in body.tenders],
                        cash_rounding_minor=quote.policy.cash_rounding_minor,
                        rate=rate,
                    )
                except registers.RegisterProblem as exc:
                    if exc.unknown and not waited:
                        raise _Refused(Refused("invalid", {"detail": str(exc)}), wait_for_register=True) from exc
                    raise _Refused(Refused("invalid", {"detail": str(exc)})) from exc
                except CheckoutError as exc:
                    raise _Refused(Refused("invalid", {"detail": str(exc)})) from exc
                approval = None
                large = discounts_needing_approval(quote.cart, quote.policy.pricing())
                try:
                    if large:
                        approval = approve(approvals, principal, action="discount", outlet_id=body.outlet_id, subject=body.id)
                    draft = draft_receipt(body, principal, quote, settlement, approval.user_id if approval else None)
                    costs = line_costs(quote)
                    self._insert_pending(uow, body, principal, quote, settlement, draft, digest, approval, costs)
                except ApprovalRequired as exc:
                    raise _Refused(NeedsApproval({"detail": str(exc), "discounts": large})) from exc
        except _NeedsTax as needs:
            return needs.needed
        except _Refused as refused:
            if refused.wait_for_register and body.register_id and registers.wait_until_known(self.db, body.register_id):
                # A register made a moment ago: its RegisterChanged has just arrived.
                return self._start(body, principal, approvals, digest, True, rate, refusal, tax)
            return refused.outcome  # rolled back: a discarded retryable failure stays stored
        return draft, settlement, costs

    def _taxed(self, quote: Quote, body: SaleIn, tax: tuple[str, TaxAnswer] | None) -> Quote:
        """The tax the till was quoted (its signed figures, if the cart is the one
        quoted), or the API's answer just fetched; else _NeedsTax."""
        request = quote.tax_request(body.id)
        fingerprint = request.fingerprint()
        if body.tax_quote is not None:
            found = self.tax.signer.verify(body.tax_quote, body.outlet_id, fingerprint)
            if isinstance(found, str):
                raise _Refused(
                    Refused(
                        "conflict",
                        {
                            "detail": f"{found}: nothing was charged; price the cart again and show the customer the total before taking payment",
                            "code": "tax_quote_stale",
                        },
                    )
                )
            return quote.with_tax(found)
        if tax is None:
            raise _NeedsTax(TaxNeeded(quote, request))
        shown, answer = tax
        if shown != fingerprint:
            answer = estimated(quote.cart, "the cart's prices changed while the tax was being calculated")
        return quote.with_tax(answer)

    def _insert_pending(
        self,
        uow: UnitOfWork,
        body: SaleIn,
        principal: Principal,
        quote: Quote,
        settlement: Settlement,
        draft: dict[str, Any],
        digest: str,
        approval: Approval | None,
        costs: LineCosts,
    ) -> None:
        cart = quote.cart
        if approval is not None:
            record_use(uow, approval, action="discount", used_for=body.id)
        uow.session.execute(
            _INSERT_SALE,
            {
                "id": body.id,
                "outlet_id": body.outlet_id,
                "register_id": body.register_id,
                "shift_id": quote.shift_id,
                "cashier_id": principal.user_id,
                "approved_by": approval.user_id if approval else None,
                "request_hash": digest,
                "status": "PENDING",
                "fulfilment": "pending",
                "oversold": False,
                "currency": cart.currency,
                "total_minor": cart.total_minor,
                "tax_minor": cart.tax_minor,
                "discount_minor": cart.discount_minor,
                "rounding_minor": settlement.rounding_minor,
                "refunded_minor": 0,
                "reprint_count": 0,
                "draft": json.dumps(draft),
                "created_at": utcnow(),
            }
            | _tax_columns(quote.tax),
        )
        if quote.tax is not None and any(line.jurisdictions for line in quote.tax.lines):
            uow.session.execute(
                sale_tax_lines.insert(),
                [
                    {
                        "sale_id": body.id,
                        "line_no": line_no,
                        "seq": seq,
                        "jurisdiction": j.name,
                        "level": j.level,
                        "code": j.code,
                        "rate": j.rate,
                        "taxable_minor": j.taxable_minor,
                        "tax_minor": j.tax_minor,
                    }
                    for line_no, line in enumerate(quote.tax.lines, start=1)
                    for seq, j in enumerate(line.jurisdictions, start=1)
                ],
            )
        uow.session.execute(
            sale_lines.insert(),
            sale_line_rows(body.id, cart, costs),
        )
        if settlement.tenders:
            rows = [
                {"sale_id": body.id, "seq": i, "kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor}
                for i, t in enumerate(settlement.tenders, start=1)
            ]
            if any(t.rate is not None for t in settlement.tenders):
                for row, t in zip(rows, settlement.tenders, strict=True):
                    row.update(_foreign_columns(t))
            uow.session.execute(sale_tenders.insert(), rows)

    async def _finish(self, sale_id: str, draft: dict[str, Any], settlement: Settlement, token: str, costs: LineCosts) -> Outcome:
        lines = [{"product_id": line["product_id"], "qty": line["qty"]} for line in draft["lines"]]
        # This attempt's name: if its reservation request gets no answer, the release
        # names it too, and inventory refuses the request should it arrive later (under
        # overload it can sit in a queue past the hop's timeout).
        attempt = str(uuid.uuid4())
        try:
            reserved = await self.clients.reserve(sale_id, draft["outlet_id"], lines, token, attempt)
        except HopError as exc:
            log.warning("inventory unreachable", extra={"sale_id": sale_id, "error": str(exc)})
            await self.clients.release(sale_id, token, attempt=attempt, outlet_id=draft["outlet_id"])
            return await self._fail(sale_id, Unavailable, "stock service unavailable: nothing was charged, try again")
        if reserved.status_code == 409:
            return await self._fail(sale_id, StockShort, reserved.json().get("detail", "not enough stock"), extra=reserved.json())
        if reserved.status_code >= 500:
            # A gateway's 502/504 may hide a request still on its way: release it by name.
            await self.clients.release(sale_id, token, attempt=attempt, outlet_id=draft["outlet_id"])
            return await self._fail(
                sale_id,
                Unavailable,
                f"stock service unavailable ({reserved.status_code}: {_detail(reserved)}): nothing was charged, try again",
            )
        if reserved.status_code >= 400:
            return await self._fail(
                sale_id,
                _upstream(reserved.status_code),
                f"stock reservation refused ({reserved.status_code}): {_detail(reserved)}",
            )
        held = _reservation_status(reserved)
        if held != "held":
            # Only an answer saying the stock is held for this sale is a reservation. A
            # repeat of a sale id whose reservation was released, expired or consumed
            # holds nothing: selling on it could take stock another sale holds.
            await self.clients.release(sale_id, token, attempt=attempt)
            if held in ("released", "expired", "consumed"):
                return await self._fail(
                    sale_id,
                    _conflict,
                    f"the stock for this sale is not held ({held}): nothing was charged; ring the sale up again with a new id",
                )
            log.warning(
                "inventory's reservation answer says nothing is held", extra={"sale_id": sale_id, "answer": reserved.text[:200]}
            )
            return await self._fail(
                sale_id, Unavailable, "the stock service did not confirm the reservation: nothing was charged, try again"
            )
        if draft["due_minor"] == 0:
            return await run_in_threadpool(self._complete, sale_id, "checkout", costs)

        payment = {
            "payment_id": sale_id,
            "sale_id": sale_id,
            "outlet_id": draft["outlet_id"],
            "currency": draft["currency"],
            "amount_minor": draft["due_minor"],
            "tenders": [
                {"kind": t.kind, "amount_minor": t.amount_minor}
                | ({"tendered_minor": t.tendered_minor} if t.kind == "cash" else {})
                | (_foreign_payment(t) if t.kind == "foreign_cash" else {})
                | ({"card_token": t.card_token} if t.kind == "card" and t.card_token else {})
                | ({"reader_ref": t.reader_ref} if t.kind == "card" and t.reader_ref else {})
                for t in settlement.tenders
                if t.amount_minor > 0
            ],
        }
        answer = await self.clients.capture(payment, token)
        if answer.outcome == "unknown":
            # Before anything else: ask payments what happened (it settles a pending card
            # by its idempotency key, or cancels a payment that never arrived).
            answer = await self.clients.reconcile_payment(sale_id, _payment_ref(draft), token)
            if answer.outcome == "unreachable":
                answer = PaymentAnswer("unknown")
        if answer.outcome == "captured" and self.settings.fault_crash_after_capture and self.settings.environment != "production":
            log.error("fault injection: exiting between capture and completion", extra={"sale_id": sale_id})
            os._exit(70)
        return await self._settle(sale_id, answer, token, by="checkout", costs=costs)

    async def _settle(
        self, sale_id: str, answer: PaymentAnswer, token: str | None, *, by: str, costs: LineCosts | None = None
    ) -> Outcome:
        """Act on what payments said: complete, fail (and release), or leave pending.
        `costs`: the lines' costs when the priced cart is at hand (a checkout); None
        (the reconciler, an offline sync): read from sale_lines at completion."""
        outcome = answer.outcome
        if outcome == "captured":
            return await run_in_threadpool(self._complete, sale_id, by, costs)
        if outcome == "declined":
            await self.clients.release(sale_id, token)
            code = answer.body.get("decline_code") or (answer.body.get("payment") or answer.body).get("decline_code")
            return await self._fail(sale_id, Declined, f"payment declined: {answer.detail}", extra={"decline_code": code}, by=by)
        if outcome == "cancelled":
            await self.clients.release(sale_id, token)
            return await self._fail(
                sale_id,
                _conflict,
                "the checkout was interrupted before the payment was taken: nothing was charged; ring the sale up again",
                by=by,
            )
        if outcome == "refused":
            await self.clients.release(sale_id, token)
            return await self._fail(sale_id, _upstream(answer.status), f"payment refused: {answer.detail}", by=by)
        if outcome == "unreachable":
            await self.clients.release(sale_id, token)
            return await self._fail(sale_id, Unavailable, "payment service unavailable: nothing was charged, try again", by=by)
        if outcome == "card_unreachable":
            # Known, not unknown: no attempt reached the processor. The stock goes back at
            # once; the till may post the same sale again (payments sends the card then).
            await self.clients.release(sale_id, token)
            return await self._fail(sale_id, Unavailable, CARD_UNREACHABLE, extra={"code": "card_processor_unreachable"}, by=by)
        log.warning("payment outcome unknown; sale left pending for the reconciler", extra={"sale_id": sale_id})
        return OutcomeUnknown(
            {
                "detail": "the payment's outcome is not known yet: do not take payment again; the sale will be completed or "
                "cancelled automatically (GET /api/sales/{id} shows which)",
                "sale_id": sale_id,
                "status": "PENDING",
            },
        )

    def _complete(self, sale_id: str, by: str, costs: LineCosts | None = None) -> SaleCompleted | Replayed:
        """PENDING -> COMPLETED once: receipt number, stored answer and SaleCompleted in
        one transaction under the sale's row lock. SaleCompleted's lines carry their
        costs: handed on from the checkout's priced cart, else (None) read from
        sale_lines, so they never pass through the receipt."""
        with self.db.transaction() as uow:
            row = uow.session.execute(_LOCK_SALE, {"sale_id": sale_id}).one()
            if row.status != "PENDING":
                return Replayed(Answer(row.http_status, json.loads(row.answer)))
            draft = json.loads(row.draft)
            if draft.get("offline"):
                # Synced from a till that sold offline: numbered and timed by the till.
                number, answer = draft["receipt_number"], draft
                now = datetime.fromisoformat(draft["completed_at"].removesuffix("Z"))
            else:
                now = utcnow()
                number = receipt_number(uow, row.outlet_id, row.register_id, _register_number(uow, row, draft))
                answer = {**draft, "receipt_number": number, "completed_at": now.isoformat() + "Z"}
            completed = SaleCompleted(answer)
            uow.session.execute(
                _COMPLETE_SALE,
                {
                    "sale_id": sale_id,
                    "v_number": number,
                    "v_at": now,
                    "v_status": http_answer(completed).status,
                    "v_answer": json.dumps(answer),
                },
            )
            if costs is None:
                costs = {line_no: cost for line_no, cost in uow.session.execute(_LINE_COSTS, {"sale_id": sale_id})}
            uow.publish(events.sale_completed(row, answer, costs), outlet_id=row.outlet_id)
            if row.approved_by is not None:  # only a discount above the threshold had one
                audit.discount_approved(uow, row, answer)
        SALES_FINISHED.labels("COMPLETED", by).inc()
        return completed

    async def _fail(
        self,
        sale_id: str,
        failure: Callable[[dict[str, Any]], Outcome],
        detail: str,
        extra: dict[str, Any] | None = None,
        *,
        by: str = "checkout",
    ) -> Outcome:
        """PENDING -> FAILED once, storing the failure's answer (`failure` makes the
        outcome from its body: Declined, StockShort, Unavailable, a Refused)."""
        outcome = failure({**(extra or {}), "detail": detail, "sale_id": sale_id})
        stored = http_answer(outcome)

        def record() -> Outcome:
            with self.db.transaction() as uow:
                done = uow.session.execute(
                    sales.update()
                    .where(sales.c.id == sale_id, sales.c.status == "PENDING")
                    .values(status="FAILED", http_status=stored.status, answer=json.dumps(stored.body))
                ).rowcount
                if not done:
                    row = uow.session.execute(select(sales.c.http_status, sales.c.answer).where(sales.c.id == sale_id)).one()
                    return Replayed(Answer(row.http_status, json.loads(row.answer)))
            SALES_FINISHED.labels("FAILED", by).inc()
            return outcome

        return await run_in_threadpool(record)

    # --- recovery ------------------------------------------------------------------------

    def stale_pending(self, limit: int = 50) -> list[str]:
        return self.answers.stale_pending(limit)

    async def reconcile(self, sale_id: str) -> Answer | None:
        """Finish a sale left PENDING (a crash, or an unknown payment outcome): ask payments
        where its payment stands and complete or fail it. None: still not known. The
        answer is the one stored (the idempotency layer replays it)."""
        row = await run_in_threadpool(self._pending_row, sale_id)
        if row is None:
            return None
        draft = json.loads(row.draft)
        if draft.get("offline"):
            # The cash was taken at the till: record it again (idempotent), never cancel.
            from pos_sales.offline import OfflineSync, offline_payment

            answer = await self.clients.capture(offline_payment(sale_id, draft), None)
            if answer.outcome in ("unknown", "unreachable", "card_unreachable"):
                return None
            return http_answer(await OfflineSync(self).settle(sale_id, answer, None, by="reconciler"))
        if draft["due_minor"] == 0:
            await self.clients.release(sale_id, None)
            return http_answer(
                await self._fail(sale_id, _conflict, "the checkout was interrupted: ring the sale up again", by="reconciler")
            )
        answer = await self.clients.reconcile_payment(sale_id, _payment_ref(draft), None)
        if answer.outcome in ("unknown", "unreachable"):
            log.info("sale still pending: payment outcome not known yet", extra={"sale_id": sale_id})
            return None
        log.info("reconciling pending sale", extra={"sale_id": sale_id, "payment": answer.outcome})
        return http_answer(await self._settle(sale_id, answer, None, by="reconciler"))

    def _pending_row(self, sale_id: str) -> Any:
        with self.db.transaction() as uow:
            return uow.session.execute(
                select(sales.c.id, sales.c.draft).where(sales.c.id == sale_id, sales.c.status == "PENDING")
            ).first()


def _tax_columns(answer: TaxAnswer | None) -> dict[str, Any]:
    """The sale's tax source; nothing for the table (the column defaults say builtin)."""
    if answer is None:
        return {}
    return {"tax_source": answer.source, "tax_estimated": answer.estimated, "tax_reference": answer.calculation_id}


class _NeedsTax(Exception):
    def __init__(self, needed: TaxNeeded) -> None:
        super().__init__("the tax API must be asked first")
        self.needed = needed


class _Refused(Exception):
    """An outcome that stores nothing: the first transaction is rolled back."""

    def __init__(self, outcome: Outcome, *, wait_for_register: bool = False) -> None:
        super().__init__(http_answer(outcome).body.get("detail", ""))
        self.outcome = outcome
        self.wait_for_register = wait_for_register


def _conflict(body: dict[str, Any]) -> Refused:
    return Refused("conflict", body)


def _upstream(status: int | None) -> Callable[[dict[str, Any]], Refused]:
    """A refusal passing on another service's 4xx as it came (422 if it gave none)."""
    return lambda body: Refused("invalid", body, upstream=status)


def _tender_json(t: AppliedTender) -> dict[str, Any]:
    """A tender on the receipt; a foreign-cash one with what was handed over in its
    currency, the amount that was due in it, the stamped rate and the change."""
    body: dict[str, Any] = {"kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor}
    if t.rate is not None:
        body.update(
            currency=t.currency,
            foreign_minor=t.foreign_minor,
            due_foreign_minor=t.due_foreign_minor,
            change_minor=t.change_minor,
            rate=t.rate.rate,
            rate_source=t.rate.source,
            rate_as_of=t.rate.as_of,
        )
    return body


def _foreign_columns(t: AppliedTender) -> dict[str, Any]:
    stamped = t.rate
    return {
        "currency": t.currency,
        "foreign_minor": t.foreign_minor,
        "rate": stamped.rate if stamped else None,
        "rate_source": stamped.source if stamped else None,
        "rate_as_of": stamped.as_of if stamped else None,
        "change_minor": t.change_minor if stamped else None,
    }


def _foreign_payment(t: AppliedTender) -> dict[str, Any]:
    assert t.rate is not None
    return {
        "currency": t.currency,
        "foreign_minor": t.foreign_minor,
        "change_minor": t.change_minor,
        "rate": t.rate.rate,
        "rate_source": t.rate.source,
        "rate_as_of": t.rate.as_of,
    }


def _payment_ref(draft: dict[str, Any]) -> dict[str, Any]:
    return {
        "sale_id": draft["sale_id"],
        "outlet_id": draft["outlet_id"],
        "currency": draft["currency"],
        "amount_minor": draft["due_minor"],
    }


def _detail(response: HopResponse) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]


def _reservation_status(response: HopResponse) -> str | None:
    """The status in inventory's answer to a reservation (held, or what a repeat found)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("status") if isinstance(body, dict) else None
