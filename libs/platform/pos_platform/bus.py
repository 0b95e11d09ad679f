"""The bus interface and its in-process implementation (embedded mode).

RabbitMQ (`pos_platform.rabbit`) implements the same interface; services never know
which one they talk to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pos_contracts import Envelope
from pos_contracts.topology import SUBSCRIPTIONS, consumers_of

log = logging.getLogger("pos.bus")

Handler = Callable[[Envelope], Awaitable[None]]


class UnroutableMessage(Exception):
    """No queue is bound for a routing key: publishing it would lose it."""


class PoisonMessage(Exception):
    """The message can never be processed (bad contract): dead-letter it at once."""


@dataclass(frozen=True)
class OutgoingMessage:
    event_id: str
    routing_key: str
    body: bytes


class Bus(Protocol):
    async def start(self) -> None: ...

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish all or raise; returns only once every message is safely stored."""

    async def consume(self, consumer: str, handler: Handler) -> None: ...

    def is_connected(self) -> bool: ...

    def consumer_attached(self, consumer: str) -> bool: ...

    async def close(self) -> None: ...


class InProcessBus:
    """Queues in memory, one per consuming service, routed by the shared topology.

    Same semantics as the broker where it matters to the code (unroutable is an error,
    failed deliveries are retried up to a limit, then dead-lettered) but not durable
    across a crash: embedded mode is for one shop's demo or development (ADR 0002).
    """

    def __init__(self, delivery_limit: int = 5, workers_per_consumer: int = 4, max_batch: int = 100) -> None:
        self.delivery_limit = delivery_limit
        self.max_batch = max_batch
        self.workers_per_consumer = workers_per_consumer
        self._queues: dict[str, asyncio.Queue[tuple[Envelope, int]]] = {}
        self._handlers: dict[str, Handler] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.dead_letters: dict[str, list[Envelope]] = {}

    def _queue(self, consumer: str) -> asyncio.Queue[tuple[Envelope, int]]:
        if consumer not in self._queues:
            self._queues[consumer] = asyncio.Queue()
        return self._queues[consumer]

    async def start(self) -> None:
        for consumer in SUBSCRIPTIONS:
            self._queue(consumer)

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        routed: list[tuple[str, Envelope]] = []
        for message in messages:
            targets = consumers_of(message.routing_key)
            if not targets:
                raise UnroutableMessage(message.routing_key)
            envelope = Envelope.model_validate_json(message.body)
            routed.extend((t, envelope) for t in targets)
        for target, envelope in routed:
            self._queue(target).put_nowait((envelope, 0))

    async def consume(self, consumer: str, handler: Handler) -> None:
        if consumer in self._handlers:
            return
        self._handlers[consumer] = handler
        for _ in range(self.workers_per_consumer):
            self._tasks.append(asyncio.create_task(self._work(consumer, handler)))

    async def _work(self, consumer: str, handler: Handler) -> None:
        queue = self._queue(consumer)
        batcher = getattr(handler, "deliver_batch", None)
        while True:
            batch = [await queue.get()]
            while batcher is not None and len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                if len(batch) > 1:
                    assert batcher is not None  # only a batch handler is given more than one
                    await batcher([envelope for envelope, _ in batch])
                else:
                    await handler(batch[0][0])
            except PoisonMessage as exc:
                envelope, attempts = batch[0]
                await self._dead_letter(consumer, handler, envelope, str(exc), attempts + 1)
            except Exception as exc:
                for envelope, attempts in batch:
                    log.exception("handler failed", extra={"event_id": envelope.event_id})
                    if attempts + 1 >= self.delivery_limit:
                        await self._dead_letter(
                            consumer, handler, envelope, f"failed {attempts + 1} times: {exc!r}", attempts + 1
                        )
                    else:
                        await asyncio.sleep(0.05 * (attempts + 1))
                        queue.put_nowait((envelope, attempts + 1))

    async def _dead_letter(self, consumer: str, handler: Handler, envelope: Envelope, reason: str, attempts: int) -> None:
        log.error("dead-lettered", extra={"event_id": envelope.event_id, "consumer": consumer, "reason": reason})
        self.dead_letters.setdefault(consumer, []).append(envelope)
        sink = getattr(handler, "dead_letter", None)
        if sink is not None:
            # The service's own dead-letter table, as on the broker (pos_platform.consumer).
            await sink(
                envelope.model_dump_json().encode(),
                reason,
                event_id=envelope.event_id,
                event_type=envelope.type,
                routing_key=envelope.routing_key,
                attempts=attempts,
                kind="broker",
            )

    def is_connected(self) -> bool:
        return True

    def consumer_attached(self, consumer: str) -> bool:
        return consumer in self._handlers

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._handlers.clear()
