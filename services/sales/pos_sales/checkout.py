"""Checkout saga: price -> reserve stock (inventory) -> capture payment (payments) ->
complete with SaleCompleted in the outbox. Idempotent by the till's sale id."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from pos_contracts.events import SaleCompleted, SaleLine, TenderLine
from pos_platform.auth import Principal
from pos_platform.db import Database, upsert, utcnow
from pos_sales.config import Settings
from pos_sales.domain import CatalogPrice, CheckoutError, PricedCart, Settlement, TenderIn, price_cart, settle
from pos_sales.schemas import SaleIn
from pos_sales.tables import price_replica, receipt_sequences, sale_lines, sale_tenders, sales

log = logging.getLogger("pos.sales.checkout")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def request_hash(body: SaleIn) -> str:
    return hashlib.sha256(body.model_dump_json(exclude={"id"}).encode()).hexdigest()


class Checkout:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.http_timeout_seconds, connect=2.0),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def run(self, body: SaleIn, principal: Principal) -> Answer:
        digest = request_hash(body)
        stored = await run_in_threadpool(self._stored, body.id)
        if stored is not None:
            if stored.request_hash != digest:
                return _REUSED_ID
            if stored.status == "PENDING":
                return await self._wait_for_answer(body.id, digest)
            if not _retryable(stored):
                return Answer(stored.http_status, json.loads(stored.answer))
            # It failed because a service was down, not because of the sale: try again.
            await run_in_threadpool(self._discard_retryable_failure, body.id)
        try:
            cart = await run_in_threadpool(self._price, body)
            settlement = settle(cart.total_minor, [TenderIn(t.kind, t.amount_minor) for t in body.tenders])
        except CheckoutError as exc:
            return Answer(422, {"detail": str(exc)})
        try:
            await run_in_threadpool(self._insert_pending, body, principal, cart, settlement, digest)
        except IntegrityError:
            # The same sale id is being posted at this very moment: answer as it does.
            return await self._wait_for_answer(body.id, digest)
        return await self._finish(body, principal, cart, settlement)

    # --- steps ---------------------------------------------------------------------

    async def _finish(self, body: SaleIn, principal: Principal, cart: PricedCart, settlement: Settlement) -> Answer:
        auth = {"Authorization": f"Bearer {principal.token}"}
        lines = [{"product_id": line.product_id, "qty": line.qty} for line in cart.lines]
        try:
            reserved = await self.http.post(
                f"{self.settings.inventory_url}/api/inventory/reservations",
                json={"sale_id": body.id, "outlet_id": body.outlet_id, "lines": lines},
                headers=auth,
            )
        except httpx.HTTPError as exc:
            log.warning("inventory unreachable", extra={"sale_id": body.id, "error": repr(exc)})
            await self._release(body.id, auth)
            return await self._fail(body.id, 503, "stock service unavailable: nothing was charged, try again")
        if reserved.status_code == 409:
            return await self._fail(body.id, 409, reserved.json().get("detail", "not enough stock"), extra=reserved.json())
        if reserved.status_code >= 400:
            status = 503 if reserved.status_code >= 500 else reserved.status_code
            return await self._fail(body.id, status, f"stock reservation refused ({reserved.status_code}): {_detail(reserved)}")

        payment = {
            "payment_id": body.id,
            "sale_id": body.id,
            "outlet_id": body.outlet_id,
            "currency": cart.currency,
            "amount_minor": cart.total_minor,
            "tenders": [
                {"kind": t.kind, "amount_minor": t.amount_minor}
                | ({"tendered_minor": t.tendered_minor} if t.kind == "cash" else {})
                for t in settlement.tenders
                if t.amount_minor > 0
            ],
        }
        try:
            captured = await self._capture(payment, auth)
        except httpx.HTTPError as exc:
            log.warning("payments unreachable", extra={"sale_id": body.id, "error": repr(exc)})
            await self._release(body.id, auth)
            return await self._fail(body.id, 503, "payment service unavailable: nothing was charged, try again")
        if captured.status_code >= 400:
            await self._release(body.id, auth)
            if captured.status_code == 402:
                return await self._fail(body.id, 402, f"payment declined: {_detail(captured)}")
            status = 503 if captured.status_code >= 500 else captured.status_code
            return await self._fail(body.id, status, f"payment failed: {_detail(captured)}")
        return await run_in_threadpool(self._complete, body, principal, cart, settlement)

    async def _capture(self, payment: dict[str, Any], auth: dict[str, str]) -> httpx.Response:
        # Safe to repeat: payments is idempotent by payment id.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(httpx.TransportError),
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.05, max=0.5),
            reraise=True,
        ):
            with attempt:
                return await self.http.post(f"{self.settings.payments_url}/api/payments/payments", json=payment, headers=auth)
        raise AssertionError("unreachable")

    async def _release(self, sale_id: str, auth: dict[str, str]) -> None:
        try:
            await self.http.delete(f"{self.settings.inventory_url}/api/inventory/reservations/{sale_id}", headers=auth)
        except httpx.HTTPError:
            # The reservation expires by itself; nothing is lost.
            log.warning("could not release reservation; it will expire", extra={"sale_id": sale_id})

    def _price(self, body: SaleIn) -> PricedCart:
        ids = {line.product_id for line in body.lines}
        with self.db.transaction() as uow:
            rows = uow.session.execute(
                select(price_replica).where(price_replica.c.product_id.in_(ids), price_replica.c.active.is_(True))
            ).all()
        prices = {
            r.product_id: CatalogPrice(r.product_id, r.sku, r.name, r.category_id, r.price_minor, r.currency, r.tax_class)
            for r in rows
        }
        return price_cart(
            [(line.product_id, line.qty) for line in body.lines],
            prices,
            self.settings.tax_rates_bp,
            prices_include_tax=self.settings.prices_include_tax,
        )

    def _insert_pending(self, body: SaleIn, principal: Principal, cart: PricedCart, settlement: Settlement, digest: str) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(
                sales.insert().values(
                    id=body.id,
                    outlet_id=body.outlet_id,
                    cashier_id=principal.user_id,
                    request_hash=digest,
                    status="PENDING",
                    fulfilment="pending",
                    oversold=False,
                    currency=cart.currency,
                    total_minor=cart.total_minor,
                    created_at=utcnow(),
                )
            )
            uow.session.execute(
                sale_lines.insert(),
                [
                    {
                        "sale_id": body.id,
                        "line_no": line.line_no,
                        "product_id": line.product_id,
                        "sku": line.sku,
                        "name": line.name,
                        "qty": line.qty,
                        "unit_price_minor": line.unit_price_minor,
                        "tax_rate_bp": line.tax_rate_bp,
                        "tax_minor": line.tax_minor,
                        "total_minor": line.total_minor,
                    }
                    for line in cart.lines
                ],
            )
            uow.session.execute(
                sale_tenders.insert(),
                [
                    {"sale_id": body.id, "seq": i, "kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor}
                    for i, t in enumerate(settlement.tenders, start=1)
                ],
            )

    def _complete(self, body: SaleIn, principal: Principal, cart: PricedCart, settlement: Settlement) -> Answer:
        now = utcnow()
        with self.db.transaction() as uow:
            upsert(uow.session, receipt_sequences, {"outlet_id": body.outlet_id}, increments={"last_number": 1})
            number = uow.session.scalar(
                select(receipt_sequences.c.last_number).where(receipt_sequences.c.outlet_id == body.outlet_id)
            )
            receipt_number = f"R{number:07d}"
            completed_at = now.isoformat() + "Z"
            answer = receipt(body, principal, cart, settlement, receipt_number, completed_at)
            uow.session.execute(
                sales.update()
                .where(sales.c.id == body.id)
                .values(status="COMPLETED", receipt_number=receipt_number, completed_at=now, http_status=201, answer=json.dumps(answer))
            )
            uow.publish(
                SaleCompleted(
                    sale_id=body.id,
                    outlet_id=body.outlet_id,
                    cashier_id=principal.user_id,
                    receipt_number=receipt_number,
                    currency=cart.currency,
                    lines=[SaleLine(**{k: getattr(line, k) for k in SaleLine.model_fields}) for line in cart.lines],
                    subtotal_minor=cart.subtotal_minor,
                    tax_minor=cart.tax_minor,
                    total_minor=cart.total_minor,
                    tenders=[TenderLine(kind=t.kind, amount_minor=t.amount_minor) for t in settlement.tenders],
                    completed_at=completed_at,
                ),
                outlet_id=body.outlet_id,
            )
        return Answer(201, answer)

    async def _fail(self, sale_id: str, status: int, detail: str, extra: dict[str, Any] | None = None) -> Answer:
        body = {**(extra or {}), "detail": detail, "sale_id": sale_id}

        def record() -> None:
            with self.db.transaction() as uow:
                uow.session.execute(
                    sales.update().where(sales.c.id == sale_id).values(status="FAILED", http_status=status, answer=json.dumps(body))
                )

        await run_in_threadpool(record)
        return Answer(status, body)

    # --- idempotency ---------------------------------------------------------------

    def _stored(self, sale_id: str) -> Any:
        with self.db.transaction() as uow:
            return uow.session.execute(
                select(sales.c.status, sales.c.http_status, sales.c.answer, sales.c.request_hash).where(sales.c.id == sale_id)
            ).first()

    def _discard_retryable_failure(self, sale_id: str) -> None:
        with self.db.transaction() as uow:
            deleted = uow.session.execute(
                sales.delete().where(sales.c.id == sale_id, sales.c.status == "FAILED", sales.c.http_status >= 500)
            ).rowcount
            if deleted:
                uow.session.execute(sale_lines.delete().where(sale_lines.c.sale_id == sale_id))
                uow.session.execute(sale_tenders.delete().where(sale_tenders.c.sale_id == sale_id))

    async def _wait_for_answer(self, sale_id: str, digest: str, timeout: float = 20.0) -> Answer:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            stored = await run_in_threadpool(self._stored, sale_id)
            if stored is not None and stored.request_hash != digest:
                return _REUSED_ID
            if stored is not None and stored.status != "PENDING":
                return Answer(stored.http_status, json.loads(stored.answer))
            await asyncio.sleep(0.05)
        return Answer(503, {"detail": "this sale is still being processed: check it again in a moment", "sale_id": sale_id})


_REUSED_ID = Answer(409, {"detail": "this sale id was already used for a different sale; the till must make a new id"})


def _retryable(stored: Any) -> bool:
    return stored.status == "FAILED" and stored.http_status >= 500


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]


def receipt(
    body: SaleIn, principal: Principal, cart: PricedCart, settlement: Settlement, receipt_number: str, completed_at: str
) -> dict[str, Any]:
    """The receipt as JSON: what the till shows and prints."""
    return {
        "sale_id": body.id,
        "receipt_number": receipt_number,
        "outlet_id": body.outlet_id,
        "cashier_id": principal.user_id,
        "cashier_name": principal.name,
        "status": "COMPLETED",
        "currency": cart.currency,
        "lines": [
            {
                "line_no": line.line_no,
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "qty": line.qty,
                "unit_price_minor": line.unit_price_minor,
                "tax_rate_bp": line.tax_rate_bp,
                "tax_minor": line.tax_minor,
                "total_minor": line.total_minor,
            }
            for line in cart.lines
        ],
        "tax": [{"rate_bp": b.rate_bp, "net_minor": b.net_minor, "tax_minor": b.tax_minor} for b in cart.tax_bands()],
        "items": cart.items,
        "subtotal_minor": cart.subtotal_minor,
        "tax_minor": cart.tax_minor,
        "total_minor": cart.total_minor,
        "tenders": [{"kind": t.kind, "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor} for t in settlement.tenders],
        "tendered_minor": settlement.tendered_minor,
        "change_minor": settlement.change_minor,
        "completed_at": completed_at,
    }
