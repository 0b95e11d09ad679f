"""Event consumer: runs a service's handler and records the event id in its inbox in
the same transaction, so every effect happens exactly once however often the broker
delivers the message. The message is acked only after that commit.

What a failure means decides what happens to the message (docs/reliability.md):
- transient (the database unreachable or restarting, a deadlock, a lock wait, the pool
  exhausted): the consumer keeps the message and tries again with backoff, as long as it
  takes. A database restart is not the message's fault, so it never burns the broker's
  delivery limit; meanwhile readiness says the consumer is waiting on its database.
- permanent (not an event envelope, an unknown type or version, a payload that fails
  validation, a constraint the data breaks): dead-lettered at once, with its reason.
- anything else (a bug): tried a few times with backoff, then dead-lettered.
Dead letters are rows in the service's own `dead_letters` table, listed and replayed
through `/api/<service>/dead-letters` (pos_platform.dead_letters).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pos_contracts import Envelope, parse_payload
from pos_platform.bus import PoisonMessage
from pos_platform.db import Database, UnitOfWork, correlation_id_var, retry_on_deadlock, upsert, utcnow
from pos_platform.messaging_tables import dead_letters_table, inbox_table
from pos_platform.tracing import consumer_spans

log = logging.getLogger("pos.consumer")

EventHandler = Callable[[UnitOfWork, Any, Envelope], None]
# Applies several events of one type in the caller's transaction, with set-based
# statements where the per-event handler would issue a statement per row.
BatchHandler = Callable[[UnitOfWork, list[tuple[Any, Envelope]]], None]

EVENTS_CONSUMED = Counter("pos_events_consumed_total", "Events consumed", ["service", "type", "outcome"])
EVENTS_DEAD_LETTERED = Counter("pos_events_dead_lettered_total", "Events dead-lettered", ["service", "type", "kind"])
TRANSIENT_RETRIES = Counter(
    "pos_consumer_transient_retries_total", "Deliveries retried in place after a transient failure", ["service"]
)
BATCH_SIZE = Histogram(
    "pos_consumer_batch_size", "Deliveries applied in one transaction", ["service"], buckets=(1, 2, 5, 10, 20, 50, 100, 200)
)
DEAD_LETTERS_PENDING = Gauge("pos_dead_letters_pending", "Dead letters waiting for an operator (replay or discard)", ["service"])

# MySQL/MariaDB errors that say "not now" rather than "never": too many connections,
# server shutting down, lock wait timeout, read-only (a failover), query interrupted,
# deadlock, connection killed, can't connect, gone away, lost connection, disconnected
# for inactivity.
TRANSIENT_MYSQL_ERRORS = frozenset({1040, 1053, 1205, 1213, 1290, 1317, 1836, 1927, 2002, 2003, 2006, 2013, 2055, 4031})


def _mysql_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", None)
    return args[0] if args and isinstance(args[0], int) else None


def is_transient(exc: BaseException) -> bool:
    """A failure that goes away by itself: try the same event again later."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = _mysql_code(exc)
        if code in TRANSIENT_MYSQL_ERRORS:
            return True
        if isinstance(exc, InterfaceError) and code in (None, 0):
            return True  # PyMySQL's (0, '') on a connection that was closed under it
        if isinstance(exc, OperationalError) and code is None:
            message = str(exc.orig).lower()
            return "locked" in message or "busy" in message  # SQLite (embedded mode)
        return False
    return isinstance(exc, (ConnectionError, TimeoutError))


def is_permanent(exc: BaseException) -> bool:
    """A failure no retry can fix: the event breaks a contract or a constraint."""
    return isinstance(exc, (PoisonMessage, IntegrityError, DataError, ValidationError, ValueError))


def describe(exc: BaseException) -> str:
    """One line for an operator: the exception and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{where}: {text}"[:2000]


class ConsumerStopping(Exception):
    """The service is shutting down while a delivery waits: leave it unacked."""


class EventConsumer:
    def __init__(
        self,
        name: str,
        db: Database,
        handlers: dict[str, EventHandler],
        *,
        threads: int = 4,
        batch_handlers: dict[str, BatchHandler] | None = None,
        apply_batch: BatchHandler | None = None,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        unexpected_attempts: int = 3,
    ) -> None:
        self.name = name
        self.db = db
        self.handlers = handlers
        self.batch_handlers = batch_handlers or {}
        # Takes every new event of a batch at once, whatever their types (reports).
        self.apply_batch = apply_batch
        self.threads = threads
        self.inbox = inbox_table(db.metadata)
        self._inbox_insert = insert(self.inbox)  # built once (its cache key too)
        self.dead_letters = dead_letters_table(db.metadata)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.unexpected_attempts = unexpected_attempts
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"consumer-{name}")
        self._waiting = 0
        self._waiting_since: float | None = None
        self._last_transient = ""
        self._stopping = False

    # --- what the bus calls -------------------------------------------------------------

    async def __call__(self, envelope: Envelope) -> None:
        """Handle one delivery until it is applied, found a duplicate or dead-lettered.
        Returns normally in all three cases (the bus acks); raises only when the service
        stops while the delivery waits (the bus leaves it for redelivery)."""
        failures = 0
        waiting = False
        try:
            while True:
                try:
                    await self._in_thread(self.handle, envelope)
                    return
                except Exception as exc:
                    if is_transient(exc):
                        if not waiting:
                            waiting = True
                            self._start_waiting()
                        await self._wait_transient(exc, failures)
                        failures += 1
                        continue
                    failures += 1
                    if is_permanent(exc) or failures >= self.unexpected_attempts:
                        await self.dead_letter(
                            envelope.model_dump_json().encode(),
                            reason_for(exc, envelope),
                            error=describe(exc),
                            event_id=envelope.event_id,
                            event_type=envelope.type,
                            routing_key=envelope.routing_key,
                            attempts=failures,
                            kind="permanent" if is_permanent(exc) else "failing",
                        )
                        return
                    log.warning(
                        "handler failed; trying again",
                        extra={"event_id": envelope.event_id, "attempt": failures, "error": describe(exc)},
                    )
                    await self._sleep(self._backoff(failures))
        finally:
            if waiting:
                self._stop_waiting()

    async def deliver_batch(self, envelopes: list[Envelope]) -> None:
        """Several deliveries in one transaction: the inbox rows inserted together, each
        event's handler (or its type's batch handler) run, one commit; the bus acks them
        all after it. A transient failure waits and tries the batch again; any other
        failure falls back to one delivery at a time, which isolates the event at fault
        (dead-lettered) and applies the rest."""
        readable: list[tuple[Any, Envelope]] = []
        single: list[Envelope] = []
        for envelope in envelopes:
            try:
                readable.append((self._parse(envelope), envelope))
            except PoisonMessage:
                single.append(envelope)  # dead-lettered by the one-by-one path below
        # A batch of one still takes the batch path when a batch handler covers its type
        # (set-based statements are fewer even for one event); otherwise one delivery
        # alone takes the one-event path, which needs no look-up of the inbox.
        batched = len(readable) > 1 or (
            len(readable) == 1 and (self.apply_batch is not None or readable[0][1].type in self.batch_handlers)
        )
        if batched:
            failures = 0
            waiting = False
            try:
                while True:
                    try:
                        await self._in_thread(self._apply_batch, readable)
                        readable = []
                        break
                    except Exception as exc:
                        if not is_transient(exc):
                            log.warning(
                                "batch failed; applying its events one by one",
                                extra={"size": len(readable), "error": describe(exc)},
                            )
                            break
                        if not waiting:
                            waiting = True
                            self._start_waiting()
                        await self._wait_transient(exc, failures)
                        failures += 1
            finally:
                if waiting:
                    self._stop_waiting()
        for envelope in [e for _, e in readable] + single:
            await self(envelope)

    async def dead_letter(
        self,
        body: bytes,
        reason: str,
        *,
        error: str = "",
        event_id: str | None = None,
        event_type: str | None = None,
        routing_key: str | None = None,
        attempts: int = 1,
        kind: str = "permanent",
    ) -> None:
        """Store a message the service gives up on (waiting out a database outage first:
        a dead letter is never dropped for want of somewhere to write it)."""
        failures = 0
        try:
            while True:
                try:
                    await self._in_thread(
                        self._store_dead_letter, body, reason, error, event_id, event_type, routing_key, attempts
                    )
                    break
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    if failures == 0:
                        self._start_waiting()
                    await self._wait_transient(exc, failures)
                    failures += 1
        finally:
            if failures:
                self._stop_waiting()
        EVENTS_DEAD_LETTERED.labels(self.name, event_type or "?", kind).inc()
        EVENTS_CONSUMED.labels(self.name, event_type or "?", "dead_lettered").inc()
        log.error(
            "event dead-lettered",
            extra={"event_id": event_id, "event_type": event_type, "routing_key": routing_key, "reason": reason, "error": error},
        )

    # --- one attempt ----------------------------------------------------------------------

    def _parse(self, envelope: Envelope) -> Any:
        """The event's payload model; PoisonMessage for an event this consumer cannot
        take (unknown type or version, invalid payload)."""
        if envelope.type not in self.handlers:
            EVENTS_CONSUMED.labels(self.name, envelope.type, "unknown_type").inc()
            raise PoisonMessage(f"{self.name} has no handler for events of type {envelope.type!r} (v{envelope.version})")
        try:
            return parse_payload(envelope.type, envelope.version, envelope.payload)
        except (KeyError, ValueError) as exc:
            EVENTS_CONSUMED.labels(self.name, envelope.type, "poison").inc()
            raise PoisonMessage(f"{envelope.type} v{envelope.version} cannot be read: {_first_line(exc)}") from exc

    def handle(self, envelope: Envelope) -> bool:
        """Process one event; False if it was a duplicate. Raises PoisonMessage for an
        event this consumer cannot take (unknown type or version, invalid payload)."""
        event = self._parse(envelope)
        handler = self.handlers[envelope.type]
        token = correlation_id_var.set(envelope.correlation_id or envelope.event_id)
        try:
            with consumer_spans(self.name, [envelope]):
                processed = self._handle_once(handler, event, envelope)
        finally:
            correlation_id_var.reset(token)
        EVENTS_CONSUMED.labels(self.name, envelope.type, "processed" if processed else "duplicate").inc()
        return processed

    @retry_on_deadlock
    def _handle_once(self, handler: EventHandler, event: Any, envelope: Envelope) -> bool:
        try:
            with self.db.transaction() as uow:
                try:
                    uow.session.execute(
                        self._inbox_insert,
                        {
                            "consumer": self.name,
                            "event_id": envelope.event_id,
                            "event_type": envelope.type,
                            "processed_at": utcnow(),
                        },
                    )
                except IntegrityError as exc:
                    raise _AlreadyProcessed from exc
                handler(uow, event, envelope)
        except _AlreadyProcessed:
            log.info("duplicate event skipped", extra={"event_id": envelope.event_id})
            return False
        return True

    @retry_on_deadlock
    def _apply_batch(self, items: list[tuple[Any, Envelope]]) -> None:
        ids = [envelope.event_id for _, envelope in items]
        with self.db.transaction() as uow:
            seen = set(
                uow.session.scalars(
                    select(self.inbox.c.event_id).where(self.inbox.c.consumer == self.name, self.inbox.c.event_id.in_(ids))
                )
            )
            fresh: dict[str, tuple[Any, Envelope]] = {}
            for event, envelope in items:
                if envelope.event_id not in seen:
                    fresh.setdefault(envelope.event_id, (event, envelope))
            if fresh:
                now = utcnow()
                # A replica racing on the same event fails this insert (primary key): the
                # batch then falls back to one by one, where the inbox sorts it out.
                uow.session.execute(
                    self._inbox_insert,
                    [
                        {"consumer": self.name, "event_id": e.event_id, "event_type": e.type, "processed_at": now}
                        for _, e in fresh.values()
                    ],
                )
                with consumer_spans(self.name, [envelope for _, envelope in fresh.values()]):
                    self._run_handlers(uow, list(fresh.values()))
        for _, envelope in items:
            EVENTS_CONSUMED.labels(self.name, envelope.type, "processed" if envelope.event_id in fresh else "duplicate").inc()
        BATCH_SIZE.labels(self.name).observe(len(items))

    def _run_handlers(self, uow: UnitOfWork, items: list[tuple[Any, Envelope]]) -> None:
        if self.apply_batch is not None:
            self.apply_batch(uow, items)
            return
        # Runs of one type, in delivery order: a type's batch handler takes a run at once.
        runs: list[list[tuple[Any, Envelope]]] = []
        for item in items:
            if runs and runs[-1][0][1].type == item[1].type:
                runs[-1].append(item)
            else:
                runs.append([item])
        for run in runs:
            type_ = run[0][1].type
            batch_handler = self.batch_handlers.get(type_)
            if batch_handler is not None:
                batch_handler(uow, run)
                continue
            for event, envelope in run:
                token = correlation_id_var.set(envelope.correlation_id or envelope.event_id)
                try:
                    self.handlers[type_](uow, event, envelope)
                finally:
                    correlation_id_var.reset(token)

    def _store_dead_letter(
        self,
        body: bytes,
        reason: str,
        error: str,
        event_id: str | None,
        event_type: str | None,
        routing_key: str | None,
        attempts: int,
    ) -> None:
        now = utcnow()
        with self.db.transaction() as uow:
            upsert(
                uow.session,
                self.dead_letters,
                {"consumer": self.name, "event_id": event_id},
                increments={"attempts": attempts},
                sets={
                    "event_type": event_type,
                    "routing_key": routing_key,
                    "body": body.decode("utf-8", "replace"),
                    "reason": reason[:500],
                    "error": error or reason,
                    "status": "pending",
                    "failed_at": now,
                    "resolved_at": None,
                    "resolved_by": None,
                },
                defaults={"first_failed_at": now},
            )
        self.refresh_pending_gauge()

    # --- health and waiting ---------------------------------------------------------------

    def status(self) -> str:
        """ "ok", or what the consumer is waiting for (readiness shows it)."""
        if self._waiting and self._waiting_since is not None:
            since = datetime.fromtimestamp(self._waiting_since, UTC).strftime("%H:%M:%S")
            return (
                f"waiting on its database since {since} UTC ({self._waiting} deliveries held, retrying): {self._last_transient}"
            )
        return "ok"

    def pending_dead_letters(self) -> int:
        with self.db.transaction() as uow:
            return (
                uow.session.scalar(
                    select(func.count()).select_from(self.dead_letters).where(self.dead_letters.c.status == "pending")
                )
                or 0
            )

    def refresh_pending_gauge(self) -> None:
        DEAD_LETTERS_PENDING.labels(self.name).set(self.pending_dead_letters())

    def _start_waiting(self) -> None:
        self._waiting += 1
        if self._waiting_since is None:
            self._waiting_since = time.time()

    def _stop_waiting(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._waiting_since = None

    async def _wait_transient(self, exc: BaseException, failures: int) -> None:
        TRANSIENT_RETRIES.labels(self.name).inc()
        self._last_transient = describe(exc)[:300]
        if failures == 0 or failures % 20 == 0:
            log.warning("database unavailable; the delivery waits and is tried again", extra={"error": self._last_transient})
        await self._sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        # Full jitter: a hundred held deliveries do not knock on the database together.
        return random.uniform(0, min(self.backoff_max, self.backoff_initial * 2**failures))

    async def _sleep(self, seconds: float) -> None:
        # In slices, so a service stopping is noticed within a quarter of a second.
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping:
                raise ConsumerStopping(self.name)
            await asyncio.sleep(min(left, 0.25))

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._stopping:
            raise ConsumerStopping(self.name)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._stopping = True
        self._executor.shutdown(wait=False)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        # "1 validation error for X" says nothing: name the fields and what is wrong.
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()[:5])[:300]
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def reason_for(exc: BaseException, envelope: Envelope) -> str:
    if isinstance(exc, PoisonMessage):
        return str(exc)
    if isinstance(exc, IntegrityError | DataError):
        return f"{envelope.type} breaks a database constraint: {_first_line(exc.orig or exc)}"
    if is_permanent(exc):
        return f"{envelope.type} is invalid: {_first_line(exc)}"
    return f"{envelope.type} failed on every attempt: {type(exc).__name__}: {_first_line(exc)}"


class _AlreadyProcessed(Exception):
    """The inbox already holds this (consumer, event_id)."""
