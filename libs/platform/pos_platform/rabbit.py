"""RabbitMQ bus (aio-pika) with the settings that do not lose messages:
persistent messages, publisher confirms, mandatory publishing with returns raised,
quorum queues with a delivery limit and a dead-letter exchange, ack after commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError, PublishError
from pydantic import ValidationError

from pos_contracts import Envelope
from pos_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    EXCHANGE,
    SUBSCRIPTIONS,
    dead_letter_queue_name,
    queue_name,
)
from pos_platform.bus import Handler, OutgoingMessage, PoisonMessage, UnroutableMessage
from pos_platform.consumer import ConsumerStopping

log = logging.getLogger("pos.bus")


class RabbitBus:
    def __init__(self, url: str, *, prefetch: int = 100, delivery_limit: int = 5, batch_workers: int = 2) -> None:
        self.url = url
        self.prefetch = prefetch
        self.batch_workers = batch_workers
        self._tasks: list[asyncio.Task[None]] = []
        self.delivery_limit = delivery_limit
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consumers: dict[str, tuple[AbstractRobustChannel, AbstractRobustQueue, str]] = {}

    async def start(self) -> None:
        if self._connection is not None:
            return
        self._connection = await aio_pika.connect_robust(self.url, client_properties={"connection_name": "pos"})
        # on_return_raises: an unroutable message fails the publish instead of vanishing.
        self._publish_channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self.declare_topology(self._publish_channel)

    async def declare_topology(self, channel: Any) -> AbstractRobustExchange:
        """Declare exchange, dead-letter exchange and every consumer's queue (idempotent)."""
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        dlx = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
        for consumer, keys in SUBSCRIPTIONS.items():
            dlq = await channel.declare_queue(
                dead_letter_queue_name(consumer), durable=True, arguments={"x-queue-type": "quorum"}
            )
            await dlq.bind(dlx, routing_key=queue_name(consumer))
            queue = await channel.declare_queue(queue_name(consumer), durable=True, arguments=self._queue_args(consumer))
            for key in keys:
                await queue.bind(exchange, routing_key=key)
        return cast(AbstractRobustExchange, exchange)

    def _queue_args(self, consumer: str) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": queue_name(consumer),
        }

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        assert self._exchange is not None, "bus not started"
        exchange = self._exchange
        # Confirms are pipelined: publish the whole batch, then wait for every confirm.
        results = await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        m.body,
                        message_id=m.event_id,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=m.routing_key,
                    mandatory=True,
                    timeout=10,
                )
                for m in messages
            ),
            return_exceptions=True,
        )
        for message, result in zip(messages, results, strict=True):
            # PublishError: returned as unroutable; DeliveryError: nacked by the broker.
            if isinstance(result, PublishError):
                raise UnroutableMessage(f"{message.routing_key}: {result}") from result
            if isinstance(result, BaseException):
                raise result

    async def consume(self, consumer: str, handler: Handler) -> None:
        assert self._connection is not None, "bus not started"
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        await self.declare_topology(channel)
        queue = await channel.declare_queue(queue_name(consumer), durable=True, arguments=self._queue_args(consumer))
        sink = getattr(handler, "dead_letter", None)
        batcher = getattr(handler, "deliver_batch", None)

        async def one_at_a_time(message: AbstractIncomingMessage) -> None:
            envelope = await self._envelope(message, sink)
            if envelope is not None:
                await self._settle(message, handler(envelope), event_id=envelope.event_id)

        on_message = one_at_a_time
        if batcher is not None:
            # Deliveries queue here; each worker takes what is ready (up to the prefetch)
            # and applies it in one transaction (pos_platform.consumer.deliver_batch).
            ready: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

            async def queue_for_a_batch(message: AbstractIncomingMessage) -> None:
                ready.put_nowait(message)

            on_message = queue_for_a_batch
            for n in range(self.batch_workers):
                self._tasks.append(asyncio.create_task(self._batch_worker(ready, batcher, sink), name=f"{consumer}-batch-{n}"))

        tag = await queue.consume(on_message)
        self._consumers[consumer] = (channel, queue, tag)
        if sink is not None:
            await self._drain_dead_letter_queue(consumer, channel, sink)

    async def _envelope(self, message: AbstractIncomingMessage, sink: Any) -> Envelope | None:
        """The delivery's envelope; None for a body that is none (dead-lettered here)."""
        try:
            return Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            reason = f"not an event envelope: {str(exc).splitlines()[0]}"
            if sink is None:
                log.error("malformed message dead-lettered", extra={"message_id": message.message_id, "reason": reason})
                await message.reject(requeue=False)
                return None
            await self._settle(
                message,
                sink(message.body, reason, error=str(exc)[:2000], event_id=message.message_id, routing_key=message.routing_key),
            )
            return None

    async def _batch_worker(self, ready: asyncio.Queue[AbstractIncomingMessage], batcher: Any, sink: Any) -> None:
        while True:
            batch = [await ready.get()]
            while len(batch) < self.prefetch and not ready.empty():
                batch.append(ready.get_nowait())
            messages, envelopes = [], []
            for message in batch:
                envelope = await self._envelope(message, sink)
                if envelope is not None:
                    messages.append(message)
                    envelopes.append(envelope)
            if envelopes:
                await self._settle_all(messages, batcher(envelopes))

    async def _settle_all(self, messages: list[AbstractIncomingMessage], work: Awaitable[None]) -> None:
        """Ack every message after `work` (which dead-letters what it cannot apply)."""
        try:
            try:
                await work
            except ConsumerStopping:
                for message in messages:
                    await message.nack(requeue=True)
            except Exception:
                log.exception("batch failed; messages requeued", extra={"size": len(messages)})
                await asyncio.sleep(0.2)
                for message in messages:
                    await message.nack(requeue=True)
            else:
                for message in messages:
                    await message.ack()
        except (AMQPError, ChannelInvalidStateError) as exc:
            log.warning(
                "could not settle deliveries; the broker will redeliver them", extra={"size": len(messages), "error": repr(exc)}
            )

    async def _settle(self, message: AbstractIncomingMessage, work: Awaitable[None], event_id: str | None = None) -> None:
        """Ack after `work` succeeds; dead-letter a poison message; otherwise requeue."""
        try:
            try:
                await work
            except PoisonMessage:
                log.error("poison message dead-lettered", extra={"event_id": event_id})
                await message.reject(requeue=False)
            except ConsumerStopping:
                await message.nack(requeue=True)
            except Exception:
                log.exception("handler failed; message requeued", extra={"event_id": event_id})
                # Brief pause so a failing dependency is not hammered; the quorum queue
                # counts this delivery towards x-delivery-limit.
                await asyncio.sleep(0.2)
                await message.nack(requeue=True)
            else:
                await message.ack()
        except (AMQPError, ChannelInvalidStateError) as exc:
            # The channel closed under a delivery (a broker restart): the broker
            # redelivers it, and the inbox makes the second application a no-op.
            log.warning(
                "could not settle a delivery; the broker will redeliver it", extra={"event_id": event_id, "error": repr(exc)}
            )

    async def _drain_dead_letter_queue(self, consumer: str, channel: AbstractRobustChannel, sink: Any) -> None:
        """Messages the broker dead-lettered itself (the delivery limit: a process that died
        on them again and again) move into the service's dead-letter table, with the
        broker's reason, where an operator sees and replays them like any other."""
        dlq = await channel.declare_queue(dead_letter_queue_name(consumer), durable=True, arguments={"x-queue-type": "quorum"})

        async def on_dead(message: AbstractIncomingMessage) -> None:
            death = _first_death(message.headers)
            routing_key = (death.get("routing-keys") or [message.routing_key])[0]
            reason = (
                f"dead-lettered by the broker ({death.get('reason', 'unknown reason')}, from queue {death.get('queue', '?')})"
            )
            try:
                envelope = Envelope.model_validate_json(message.body)
                ids: dict[str, Any] = {"event_id": envelope.event_id, "event_type": envelope.type}
            except ValidationError:
                ids = {"event_id": message.message_id, "event_type": None}
            await self._settle(
                message,
                sink(
                    message.body,
                    reason,
                    error=reason,
                    routing_key=str(routing_key),
                    attempts=int(death.get("count", 1)),
                    kind="broker",
                    **ids,
                ),
            )

        await dlq.consume(on_dead)

    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    def consumer_attached(self, consumer: str) -> bool:
        entry = self._consumers.get(consumer)
        if entry is None or not self.is_connected():
            return False
        channel, _queue, _tag = entry
        return not channel.is_closed

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for channel, queue, tag in self._consumers.values():
            try:
                await queue.cancel(tag)
                await channel.close()
            except Exception:  # closing anyway
                log.debug("consumer close failed", exc_info=True)
        self._consumers.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def _first_death(headers: dict[str, Any] | None) -> dict[str, Any]:
    """The newest x-death entry RabbitMQ adds when it dead-letters a message."""
    deaths = (headers or {}).get("x-death") or []
    first = deaths[0] if isinstance(deaths, list) and deaths else {}
    return {str(k): (v.decode() if isinstance(v, bytes) else v) for k, v in dict(first).items()}
