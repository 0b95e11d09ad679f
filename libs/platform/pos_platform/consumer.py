"""Event consumer: runs a service's handler and records the event id in its inbox in
the same transaction, so every effect happens exactly once however often the broker
delivers the message. The message is acked only after that commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import Counter
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from pos_contracts import Envelope, parse_payload
from pos_platform.bus import PoisonMessage
from pos_platform.db import Database, UnitOfWork, correlation_id_var, retry_on_deadlock, utcnow
from pos_platform.messaging_tables import inbox_table

log = logging.getLogger("pos.consumer")

EventHandler = Callable[[UnitOfWork, Any, Envelope], None]

EVENTS_CONSUMED = Counter("pos_events_consumed_total", "Events consumed", ["service", "type", "outcome"])


class EventConsumer:
    def __init__(self, name: str, db: Database, handlers: dict[str, EventHandler], *, threads: int = 4) -> None:
        self.name = name
        self.db = db
        self.handlers = handlers
        self.inbox = inbox_table(db.metadata)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"consumer-{name}")

    async def __call__(self, envelope: Envelope) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.handle, envelope)

    def handle(self, envelope: Envelope) -> bool:
        """Process one event; False if it was a duplicate or of no interest."""
        handler = self.handlers.get(envelope.type)
        if handler is None:
            EVENTS_CONSUMED.labels(self.name, envelope.type, "ignored").inc()
            return False
        try:
            event = parse_payload(envelope.type, envelope.version, envelope.payload)
        except (KeyError, ValueError) as exc:
            EVENTS_CONSUMED.labels(self.name, envelope.type, "poison").inc()
            raise PoisonMessage(f"{envelope.type} v{envelope.version}: {exc}") from exc
        token = correlation_id_var.set(envelope.correlation_id or envelope.event_id)
        try:
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
                        insert(self.inbox).values(
                            consumer=self.name,
                            event_id=envelope.event_id,
                            event_type=envelope.type,
                            processed_at=utcnow(),
                        )
                    )
                except IntegrityError as exc:
                    raise _AlreadyProcessed from exc
                handler(uow, event, envelope)
        except _AlreadyProcessed:
            log.info("duplicate event skipped", extra={"event_id": envelope.event_id})
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False)


class _AlreadyProcessed(Exception):
    """The inbox already holds this (consumer, event_id)."""
