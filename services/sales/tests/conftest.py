"""Sales in process: the real app on SQLite with an in-process bus, its synchronous hops
routed (httpx transport) to small fakes of inventory and payments that follow their
contracts and can be told to decline, lose an answer, or be down."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from starlette.routing import compile_path

from pos_platform.bus import InProcessBus
from pos_platform.db import utcnow
from pos_platform.testing import mint_token, outbox_events
from pos_sales.app import create_app
from pos_sales.config import Settings
from pos_sales.tables import known_outlets, known_registers, price_replica

OUTLET = "outlet-a"
OTHER = "outlet-b"


@dataclass
class FakeServices:
    """What inventory and payments were asked, and how payments should answer next:
    capture | decline | lost (captured, but the answer never arrives) | down (nothing
    happens, 503) | unreachable (connection refused) | card_down (payments cannot reach
    the card processor: the payment is stored `unsent`, 503)."""

    stock: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, str] = field(default_factory=dict)  # sale id -> held | released
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    capture_calls: list[dict[str, Any]] = field(default_factory=list)
    # the X-Request-ID each hop carried, by path ("" when none)
    request_ids: list[tuple[str, str]] = field(default_factory=list)
    mode: str = "capture"
    reconcile_mode: str = "answer"  # answer | down
    # What inventory answers a reservation with: held (201), or a repeat's 200 with this
    # status (released | expired | consumed: nothing is held for the sale).
    reserve_status: str = "held"
    reserve_error: int | None = None  # answer reservations with this status (a gateway's 504, say)
    reserve_attempts: list[str | None] = field(default_factory=list)  # the attempt each reservation request named
    releases: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (sale id, query) of each release
    refund_mode: str = "refund"  # refund | fail
    # payments' rates as GET /api/payments/rates/{base}/{quote} answers them, by "EUR/USD"
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_calls: list[str] = field(default_factory=list)
    capture_delay: float = 0.0  # payments takes this long to answer a capture

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def note_request_id(request: Request, call_next: Any) -> Response:
            self.request_ids.append((request.url.path, request.headers.get("x-request-id", "")))
            return await call_next(request)

        @app.post("/api/inventory/reservations")
        async def reserve(request: Request) -> Response:
            body = await request.json()
            self.reserve_attempts.append(body.get("attempt"))
            if self.reserve_error is not None:
                return JSONResponse({"detail": "upstream timed out"}, status_code=self.reserve_error)
            short = [
                {"product_id": line["product_id"], "requested": line["qty"], "available": self.stock[line["product_id"]]}
                for line in body["lines"]
                if line["product_id"] in self.stock and self.stock[line["product_id"]] < line["qty"]
            ]
            if short:
                return JSONResponse(
                    {"detail": f"not enough stock for: {short[0]['product_id']}", "short": short}, status_code=409
                )
            if self.reserve_status != "held":
                answer = {"sale_id": body["sale_id"], "outlet_id": body["outlet_id"]}
                return JSONResponse(answer | ({"status": self.reserve_status} if self.reserve_status else {}), status_code=200)
            self.reservations[body["sale_id"]] = "held"  # a repeat of a released one is held again
            return JSONResponse({"sale_id": body["sale_id"], "outlet_id": body["outlet_id"], "status": "held"}, status_code=201)

        @app.delete("/api/inventory/reservations/{sale_id}")
        async def release(sale_id: str, request: Request) -> Response:
            if "authorization" not in request.headers:
                return JSONResponse({"detail": "missing bearer token"}, status_code=401)
            self.releases.append((sale_id, dict(request.query_params)))
            if sale_id in self.reservations:
                self.reservations[sale_id] = "released"
            return Response(status_code=204)

        @app.get("/api/payments/rates/{base}/{quote}")
        async def rate(base: str, quote: str) -> Response:
            self.rate_calls.append(f"{base}/{quote}")
            found = self.rates.get(f"{base}/{quote}")
            if found is None:
                found = {
                    "currency": quote,
                    "rate": None,
                    "source": None,
                    "reference_date": None,
                    "age_days": None,
                    "stale": False,
                    "usable": False,
                    "detail": f"there is no {base}/{quote} rate: foreign cash in {quote} is refused",
                    "feed": None,
                    "manual": None,
                }
            return JSONResponse(found)

        @app.post("/api/payments/payments")
        async def capture(request: Request) -> Response:
            body = await request.json()
            if self.capture_delay:
                await asyncio.sleep(self.capture_delay)
            self.capture_calls.append(body)
            existing = self.payments.get(body["payment_id"])
            if existing is not None and existing["status"] == "unsent":
                if self.mode == "card_down":
                    return JSONResponse({"detail": "the card processor cannot be reached", "payment": existing}, status_code=503)
                existing["status"] = "captured"  # sent again, now that the processor is back
                return JSONResponse(existing, status_code=200)
            if existing is not None:
                if existing["status"] == "cancelled":
                    return JSONResponse({"detail": "cancelled", "payment": existing}, status_code=409)
                return JSONResponse(existing, status_code=402 if existing["status"] == "declined" else 200)
            if self.mode == "down":
                return JSONResponse({"detail": "service unavailable, try again"}, status_code=503)
            status = {"decline": "declined", "card_down": "unsent"}.get(self.mode, "captured")
            payment = {
                "payment_id": body["payment_id"],
                "sale_id": body["sale_id"],
                "outlet_id": body["outlet_id"],
                "currency": body["currency"],
                "amount_minor": body["amount_minor"],
                "status": status,
                "tenders": body["tenders"],
                "decline_code": "generic_decline" if status == "declined" else None,
            }
            self.payments[body["payment_id"]] = payment
            if self.mode == "lost":
                return JSONResponse({"detail": "service unavailable, try again"}, status_code=503)
            if status == "unsent":
                return JSONResponse(
                    {"detail": "the card processor cannot be reached", "code": "card_processor_unreachable", "payment": payment},
                    status_code=503,
                )
            if status == "declined":
                return JSONResponse(
                    {
                        "detail": "card declined (generic_decline): Your card was declined.",
                        "decline_code": "generic_decline",
                        "payment": payment,
                    },
                    status_code=402,
                )
            return JSONResponse(payment, status_code=201)

        @app.post("/api/payments/payments/{payment_id}/reconcile")
        async def reconcile(payment_id: str, request: Request) -> Response:
            if self.reconcile_mode == "down":
                return JSONResponse({"detail": "service unavailable, try again"}, status_code=503)
            body = await request.json()
            if payment_id not in self.payments:
                self.payments[payment_id] = {"payment_id": payment_id, **body, "status": "cancelled", "tenders": []}
            return JSONResponse(self.payments[payment_id])

        @app.post("/api/payments/refunds")
        async def refund(request: Request) -> Response:
            body = await request.json()
            if body["refund_id"] in self.refunds:
                return JSONResponse(self.refunds[body["refund_id"]], status_code=200)
            if self.refund_mode == "fail":
                return JSONResponse({"detail": "refund failed: the card processor refused it"}, status_code=422)
            out = {**body, "status": "refunded", "amount_minor": sum(t["amount_minor"] for t in body["tenders"])}
            self.refunds[body["refund_id"]] = out
            return JSONResponse(out, status_code=201)

        return app


class SwitchableTransport(httpx.AsyncBaseTransport):
    """The fakes' ASGI app, or 'connection refused' when the services are unreachable."""

    def __init__(self, fakes: FakeServices) -> None:
        self.fakes = fakes
        self.inner = httpx.ASGITransport(app=fakes.app())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.fakes.mode == "unreachable":
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def fakes() -> FakeServices:
    return FakeServices()


def seed_prices(app: Any) -> None:
    now = utcnow()
    with app.state.ctx.db.transaction() as uow:
        uow.session.execute(
            price_replica.insert(),
            [
                {
                    "product_id": "mug",
                    "sku": "MUG",
                    "name": "Espresso cup <small>",
                    "category_id": "cups",
                    "price_minor": 1250,
                    "currency": "EUR",
                    "tax_class": "standard",
                    "active": True,
                    "source_event_at": now,
                },
                {
                    "product_id": "tea",
                    "sku": "TEA",
                    "name": "Green tea 100 g",
                    "category_id": "tea",
                    "price_minor": 399,
                    "currency": "EUR",
                    "tax_class": "reduced",
                    "active": True,
                    "source_event_at": now,
                },
                {
                    "product_id": "gone",
                    "sku": "OLD",
                    "name": "Archived",
                    "category_id": None,
                    "price_minor": 100,
                    "currency": "EUR",
                    "tax_class": "standard",
                    "active": False,
                    "source_event_at": now,
                },
            ],
        )


# Registers as identity's RegisterChanged would have announced them: till-1 .. till-9 are
# outlet A's registers 1 .. 9, till-b1 is outlet B's register 1, till-off is outlet A's
# deactivated register 10.
REGISTERS = [(f"till-{n}", OUTLET, n, f"Till {n}", True) for n in range(1, 10)] + [
    ("till-b1", OTHER, 1, "B's till", True),
    ("till-off", OUTLET, 10, "Old till", False),
]


def seed_registers(app: Any) -> None:
    """The outlets and registers identity announced (OutletCreated, RegisterChanged)."""
    now = utcnow()
    with app.state.ctx.db.transaction() as uow:
        uow.session.execute(
            known_outlets.insert(),
            [{"outlet_id": o, "name": o.title(), "currency": "EUR", "updated_at": now} for o in (OUTLET, OTHER)],
        )
        uow.session.execute(
            known_registers.insert(),
            [
                {"register_id": r, "outlet_id": o, "number": n, "name": name, "active": active, "source_event_at": now}
                for r, o, n, name, active in REGISTERS
            ],
        )


@pytest.fixture
def make_client(tmp_path: Path, keys: tuple[Path, Path], fakes: FakeServices) -> Callable[..., Any]:
    """A started TestClient of a sales app with these settings overrides (and prices)."""

    def make(**overrides: Any) -> Any:
        settings = Settings(
            **{
                "database_url": f"sqlite:///{tmp_path}/sales-{uuid.uuid4().hex[:6]}.db",
                "jwt_public_key_file": str(keys[1]),
                "inventory_url": "http://services.test",
                "payments_url": "http://services.test",
                "reconcile_after_seconds": 3600,
                "reconcile_interval_seconds": 3600,
                **overrides,
            }
        )
        app = create_app(settings, bus=InProcessBus(), migrate_on_start=True, transport=SwitchableTransport(fakes))
        client = TestClient(app)
        client.event_hooks = {"request": [], "response": [documented_answer_check(app)]}
        return client

    return make


def documented_model(app: FastAPI, method: str, path: str, status: int) -> Any:
    """The model the OpenAPI document gives for this answer (a response_model, or a
    `responses={status: {"model": ...}}`), or None."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or method not in (context.methods or set()):
            continue
        if compile_path(context.path_format or "")[0].fullmatch(path):
            declared = route.responses.get(status) or route.responses.get(str(status)) or {}
            if "model" in declared:
                return declared["model"]
            if route.response_model is not None and status == (route.status_code or 200):
                return route.response_model
            return None
    raise AssertionError(f"no route answers {method} {path}")


def documented_answer_check(app: FastAPI) -> Callable[[httpx.Response], None]:
    """Every 2xx JSON answer of the sales API round-trips through the model its OpenAPI
    document names, nothing lost or added (issue 18, ADR 0065): the receipt, sale, refund,
    void, quote, shift and Z-report models cannot drift from the dicts the code builds,
    including on the endpoints that only document their model (POST /api/sales)."""

    def check(response: httpx.Response) -> None:
        if not 200 <= response.status_code < 300 or "application/json" not in response.headers.get("content-type", ""):
            return
        model = documented_model(app, response.request.method, response.request.url.path, response.status_code)
        if model is None:
            return
        response.read()
        body = response.json()
        adapter = TypeAdapter(model)
        again = adapter.dump_python(adapter.validate_python(body), mode="json", by_alias=True, exclude_unset=True)
        assert again == body, f"{response.request.method} {response.request.url.path} answered what {model} does not document"

    return check


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Iterator[TestClient]:
    with make_client() as c:
        seed_prices(c.app)
        seed_registers(c.app)
        yield c


Auth = Callable[..., dict[str, str]]


@pytest.fixture
def token(keys: tuple[Path, Path]) -> Callable[..., str]:
    def make(role: str = "cashier", outlets: list[str] | None = None, user_id: str | None = None) -> str:
        return mint_token(
            keys[0], role, [OUTLET] if outlets is None else outlets, user_id=user_id or f"{role}-1", name=f"A {role}"
        )

    return make


@pytest.fixture
def approval(keys: tuple[Path, Path]) -> Callable[..., str]:
    """An approval token as identity issues it after a manager's PIN (ADR 0040)."""

    def make(
        action: str,
        subject: str | None = None,
        *,
        requested_by: str = "cashier-1",
        approver: str = "boss",
        role: str = "manager",
        outlets: list[str] | None = None,
        outlet_id: str = OUTLET,
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": approver,
            "role": role,
            "outlets": [OUTLET] if outlets is None else outlets,
            "aud": "pos:approval",
            "iss": "pos-identity",
            "iat": now,
            "exp": now + 120,
            "jti": uuid.uuid4().hex,
            "token_use": "approval",
            "action": action,
            "outlet_id": outlet_id,
            "requested_by": requested_by,
            **({"subject": subject} if subject else {}),
        }
        return jwt.encode(claims, keys[0].read_text(), algorithm="EdDSA")

    return make


@pytest.fixture
def auth(token: Callable[..., str]) -> Auth:
    def headers(role: str = "cashier", outlets: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, outlets)}"}

    return headers


def sale(lines: list[tuple[str, int]] | None = None, tenders: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "outlet_id": OUTLET,
        "lines": [{"product_id": p, "qty": q} for p, q in (lines or [("mug", 2)])],
        "tenders": tenders if tenders is not None else [{"kind": "cash", "amount_minor": 5000}],
        **extra,
    }


def outbox(client: TestClient, type_: str) -> list[dict[str, Any]]:
    return outbox_events(client, type_)


@pytest.fixture
def helpers() -> Any:
    class Helpers:
        sale = staticmethod(sale)
        outbox = staticmethod(outbox)
        seed_prices = staticmethod(seed_prices)
        seed_registers = staticmethod(seed_registers)

    return Helpers
