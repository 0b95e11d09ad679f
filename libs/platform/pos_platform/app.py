"""The app factory every service is built with: same health, metrics, auth, logging,
outbox relay and consumer wiring everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pos_platform import tracing
from pos_platform.auth import Admin, TokenVerifier
from pos_platform.bus import Bus, InProcessBus
from pos_platform.consumer import BatchHandler, EventConsumer, EventHandler, describe, is_transient
from pos_platform.db import Database
from pos_platform.dead_letters import dead_letter_router
from pos_platform.migrate import upgrade
from pos_platform.observability import RequestContextMiddleware, configure_logging
from pos_platform.openapi import document_responses
from pos_platform.relay import OutboxRelay, refresh_outbox_gauges
from pos_platform.settings import ServiceSettings

log = logging.getLogger("pos.app")

# Bounds of integer parameters: a row id or cursor fits a signed 64-bit column; an offset
# past a billion rows is a mistake. A larger number is a 422, never a database error.
MAX_ID = 2**63 - 1
MAX_OFFSET = 1_000_000_000


class Readiness(BaseModel):
    """readyz's answer: each check by name ("ok", "down", "detached", "error: ..."), and
    whether all of them are "ok"."""

    ready: bool
    checks: dict[str, str]


# readyz: the checks when the service is not ready, or the gateway's sentence when it is down.
READYZ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "ready: every check is ok"},
    503: {
        "description": "not ready: a check failed (or, through the gateway, the service is down)",
        "headers": {},
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {
                            "type": "object",
                            "required": ["ready", "checks"],
                            "properties": {
                                "ready": {"type": "boolean"},
                                "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        },
                        {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
                    ]
                }
            }
        },
    },
}

BackgroundJob = Callable[["ServiceContext[Any]"], Coroutine[Any, Any, None]]

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class ServiceContext(Generic[SettingsT]):
    """What a running service holds; available to routes as request.app.state.ctx.
    Generic in its settings: a service names its own class (`ServiceContext[Settings]`,
    see each service's context helper) and reads its own settings typed, with no cast."""

    name: str
    settings: SettingsT
    db: Database
    bus: Bus | None = None
    relay: OutboxRelay | None = None
    consumer: EventConsumer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def service_context(request: Request, settings_class: type[SettingsT]) -> ServiceContext[SettingsT]:
    """The running service's context (request.app.state.ctx) with its settings typed as
    the service's own class. A static type only: nothing is checked or converted at run
    time (create_service_app was given an instance of that class)."""
    ctx: ServiceContext[SettingsT] = request.app.state.ctx
    return ctx


def build_bus(settings: ServiceSettings) -> Bus:
    if settings.bus == "rabbitmq":
        from pos_platform.rabbit import RabbitBus

        return RabbitBus(settings.rabbitmq_url, prefetch=settings.consumer_prefetch, delivery_limit=settings.delivery_limit)
    return InProcessBus(delivery_limit=settings.delivery_limit)


def create_service_app(
    *,
    name: str,
    settings: ServiceSettings,
    db: Database,
    routers: Sequence[APIRouter],
    handlers: dict[str, EventHandler] | None = None,
    batch_handlers: dict[str, BatchHandler] | None = None,
    apply_batch: BatchHandler | None = None,
    bus: Bus | None = None,
    migrate_on_start: bool = False,
    background_jobs: Sequence[BackgroundJob] = (),
    on_start: Callable[[ServiceContext[Any]], None] | None = None,
    on_stop: Callable[[ServiceContext[Any]], Awaitable[None]] | None = None,
    description: str = "",
) -> FastAPI:
    """Build a service app. `bus` is passed in by the embedded runner (shared
    in-process bus); otherwise the service builds its own from settings and owns it.
    `on_start` runs (in a thread) after migrations and before the bus starts; `on_stop`
    after background jobs are cancelled."""
    configure_logging(settings.log_level, name)
    tracing.configure_tracing(
        name, settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio, instance=settings.instance_id
    )
    ctx: ServiceContext[ServiceSettings] = ServiceContext(name=name, settings=settings, db=db)
    consumer = EventConsumer(name, db, handlers, batch_handlers=batch_handlers, apply_batch=apply_batch) if handlers else None
    owns_bus = bus is None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # As many endpoint threads as the pool has connections for (pos_platform.settings).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        if migrate_on_start:
            await asyncio.to_thread(upgrade, name, db.url)
        if on_start is not None:
            await asyncio.to_thread(on_start, ctx)
        ctx.bus = bus or build_bus(settings)
        await ctx.bus.start()
        ctx.relay = OutboxRelay(
            db,
            ctx.bus,
            batch_size=settings.relay_batch_size,
            idle_interval=settings.relay_idle_interval,
            linger=settings.relay_linger,
        )
        ctx.tasks.append(asyncio.create_task(ctx.relay.run(), name=f"{name}-relay"))
        if consumer is not None:
            ctx.consumer = consumer
            try:
                await asyncio.to_thread(consumer.refresh_pending_gauge)
            except Exception:  # the database may still be starting; /metrics refreshes it
                log.warning("dead-letter count unavailable at start-up", exc_info=True)
            await ctx.bus.consume(name, consumer)
        for job in background_jobs:
            ctx.tasks.append(asyncio.create_task(job(ctx), name=f"{name}-{job.__name__}"))
        log.info("service started", extra={"service": name, "instance": settings.instance_id})
        try:
            yield
        finally:
            if ctx.consumer:
                # First: deliveries waiting out an outage stop and stay unacked.
                ctx.consumer.close()
            for task in ctx.tasks:
                task.cancel()
            # Each step of the shutdown is bounded: a task that does not stop is named in
            # the log and the service stops all the same (a shutdown that hangs keeps a
            # deployment, or a test run, waiting for ever).
            await _within(*ctx.tasks, what="background task")
            ctx.tasks.clear()
            if on_stop is not None:
                await _within(asyncio.ensure_future(on_stop(ctx)), what="the service's own stop")
            if owns_bus:
                await _within(asyncio.ensure_future(ctx.bus.close()), what="the message bus")
            ctx.relay.close()
            db.dispose()
            tracing.shutdown_tracing()

    app = FastAPI(
        title=f"POS {name} service",
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"/api/{name}/openapi.json",
        docs_url=f"/api/{name}/docs",
        redoc_url=None,
        # FastAPI's own telemetry would add a second server span (and three operation
        # spans) per request once a tracer provider is set: the platform's middleware
        # makes the one server span every service shares (ADR 0070).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.ctx = ctx
    app.add_exception_handler(RequestValidationError, unprocessable_request)
    app.add_exception_handler(DBAPIError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)
    app.state.token_verifier = TokenVerifier(settings.jwt_public_key_file, settings.jwt_audience, settings.jwt_issuer)
    app.add_middleware(RequestContextMiddleware, service=name)

    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", include_in_schema=False)
    @ops.get(f"/api/{name}/healthz")
    def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "service": name}

    @ops.get("/readyz", include_in_schema=False)
    @ops.get(f"/api/{name}/readyz", responses=READYZ_RESPONSES)
    def readyz(request: Request) -> JSONResponse:
        """Ready: database reachable, broker connected, consumer attached."""
        checks: dict[str, str] = {}
        try:
            db.ping()
            checks["database"] = "ok"
        except Exception as exc:  # report, don't raise: this is the health endpoint
            checks["database"] = f"error: {type(exc).__name__}"
        checks["broker"] = "ok" if ctx.bus is not None and ctx.bus.is_connected() else "down"
        if consumer is not None:
            attached = ctx.bus is not None and ctx.bus.consumer_attached(name)
            # Attached but holding deliveries until the database is back: not ready.
            checks["consumer"] = consumer.status() if attached else "detached"
        answer = Readiness(ready=all(v == "ok" for v in checks.values()), checks=checks)
        return JSONResponse(answer.model_dump(), status_code=200 if answer.ready else 503)

    @ops.get("/metrics", include_in_schema=False)
    @ops.get(f"/api/{name}/metrics", include_in_schema=False)
    def metrics() -> Response:
        if consumer is not None:
            try:
                consumer.refresh_pending_gauge()  # other replicas may have replayed some
            except Exception:  # the database may be down: report the last value
                log.debug("dead-letter count unavailable", exc_info=True)
        try:
            refresh_outbox_gauges(db)
        except Exception:
            log.debug("outbox backlog unavailable", exc_info=True)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @ops.get(f"/api/{name}/events", tags=["operations"])
    def event_history(
        _admin: Admin,
        after: int = Query(default=0, ge=0, le=MAX_ID, description="cursor: next_after of the previous page"),
        limit: int = Query(default=1000, ge=1, le=5000),
    ) -> dict[str, Any]:
        """Everything this service has published, oldest first, with the original event
        ids: what a read model replays to rebuild itself (reports' rebuild command)."""
        outbox = db.outbox
        with db.transaction() as uow:
            rows = uow.session.execute(
                select(outbox.c.id, outbox.c.body).where(outbox.c.id > after).order_by(outbox.c.id).limit(limit)
            ).all()
            total = uow.session.scalar(select(func.count()).select_from(outbox)) or 0
        return {
            "events": [json.loads(row.body) for row in rows],
            "next_after": rows[-1].id if len(rows) == limit else None,
            "total": total,
        }

    app.include_router(ops)
    if consumer is not None:
        app.include_router(dead_letter_router(name, consumer))
    for router in routers:
        app.include_router(router)
    document_unprocessable(app)
    document_responses(app)
    return app


def _printable(value: Any) -> Any:
    """A validation error's echo of the input, as JSON can carry it: NaN and Infinity
    (which Python's JSON parser accepts in a body) become strings, bytes become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


async def unprocessable_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 (a list of {loc, msg, type, input}), for every service, with an
    input that JSON cannot carry (`"qty": NaN`) shown as text instead of failing the
    answer with a 500."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422, content={"detail": _printable(jsonable_encoder(exc.errors(), custom_encoder={float: _printable}))}
    )


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is restarting or unreachable: 503 with a sentence and Retry-After,
    not a 500. Anything else the database refused stays an error (a bug to fix)."""
    if not is_transient(exc):
        raise exc
    log.warning("database unavailable", extra={"path": request.url.path, "error": describe(exc)})
    return JSONResponse(
        {"detail": "the service cannot reach its database right now: try again in a moment (a retry with the same id is safe)"},
        status_code=503,
        headers={"Retry-After": "2"},
    )


# A 422 is either FastAPI's validation errors (a list of {loc, msg, type}) or a rule a
# schema cannot express, answered as {"detail": "<a sentence a person can act on>"}.
UNPROCESSABLE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"$ref": "#/components/schemas/HTTPValidationError"},
        {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
    ]
}


def unprocessable(description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry for a route whose 422 has its own description."""
    return {422: {"description": description, "content": {"application/json": {"schema": UNPROCESSABLE_SCHEMA}}}}


def document_unprocessable(app: FastAPI) -> None:
    """Every 422 in the OpenAPI document says both shapes the service answers: FastAPI
    documents only its validation errors, while the services also answer a sentence for
    rules a schema cannot express (an unknown parent category, an empty CSV file)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    content = operation.get("responses", {}).get("422", {}).get("content", {})
                    media = content.get("application/json")
                    if media and media.get("schema") == {"$ref": "#/components/schemas/HTTPValidationError"}:
                        media["schema"] = UNPROCESSABLE_SCHEMA
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing app.openapi to change the document


SHUTDOWN_STEP_SECONDS = 10.0


async def _within(*steps: asyncio.Future[Any], what: str, seconds: float | None = None) -> None:
    """Wait for `steps` (tasks or futures) to finish, at most SHUTDOWN_STEP_SECONDS; name
    the ones still running in the log and go on without them (asyncio.wait, not gather:
    a cancelled gather still waits for a child that ignores its cancellation)."""
    if not steps:
        return
    _done, pending = await asyncio.wait(steps, timeout=SHUTDOWN_STEP_SECONDS if seconds is None else seconds)
    for step in pending:
        name = step.get_name() if isinstance(step, asyncio.Task) else repr(step)
        log.error(
            "shutdown: %s %s did not stop within %.0f s; stopping without it",
            what,
            name,
            SHUTDOWN_STEP_SECONDS if seconds is None else seconds,
        )
