"""The messaging guarantees on real MariaDB and RabbitMQ: the outbox relay publishes
every event once with two relays racing, unroutable messages are errors, consumers apply
each event exactly once however often it is delivered, a transient database error makes
a delivery wait rather than be dead-lettered, and a poison message of every kind is
dead-lettered (with its reason, in the service's table) while the rest keep flowing."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pymysql
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text

from pos_contracts import Envelope, new_envelope
from pos_contracts.events import ProductCreated
from pos_contracts.topology import queue_name
from pos_platform.bus import OutgoingMessage, UnroutableMessage
from pos_platform.consumer import EventConsumer
from pos_platform.db import Database
from pos_platform.messaging_tables import add_messaging_tables
from pos_platform.rabbit import RabbitBus
from pos_platform.relay import OutboxRelay

pytestmark = pytest.mark.integration

VHOST = "pos_it"
AMQP_URL = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
DB_NAME = "pos_it_messaging"


@pytest.fixture
def vhost() -> Iterator[str]:
    """A fresh RabbitMQ vhost: no queues or messages left from an earlier run."""
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", VHOST], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"], check=True, capture_output=True
    )
    yield VHOST
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True)


@pytest.fixture
def db() -> Iterator[Database]:
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        cur.execute(f"CREATE DATABASE {DB_NAME}")
    metadata = MetaData()
    Table("applied", metadata, Column("event_id", String(36), primary_key=True), Column("times", Integer, nullable=False))
    add_messaging_tables(metadata, consumer=True)
    database = Database(f"mysql+pymysql://root@127.0.0.1:3306/{DB_NAME}", metadata, "catalog")
    metadata.create_all(database.engine)
    yield database
    database.dispose()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    conn.close()


@pytest.fixture
async def bus(vhost: str) -> AsyncIterator[RabbitBus]:
    rabbit = RabbitBus(AMQP_URL, delivery_limit=3)
    await rabbit.start()
    yield rabbit
    await rabbit.close()


def product_event(n: int) -> ProductCreated:
    return ProductCreated(product_id=str(uuid.uuid4()), sku=f"SKU-{n}", name=f"Product {n}", price_minor=100 + n, currency="EUR")


async def drain_queue(name: str, expected: int, timeout: float = 20.0) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(AMQP_URL)
    received: list[aio_pika.abc.AbstractIncomingMessage] = []
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(name, ensure=True)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(received) < expected and asyncio.get_running_loop().time() < deadline:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            received.append(message)
        # Anything beyond `expected` would be a duplicate: look briefly for one.
        await asyncio.sleep(0.3)
        while (extra := await queue.get(no_ack=False, fail=False)) is not None:
            await extra.ack()
            received.append(extra)
    finally:
        await connection.close()
    return received


async def test_two_relays_publish_every_outbox_row_exactly_once(db: Database, bus: RabbitBus) -> None:
    events = 400
    for n in range(events):
        with db.transaction() as uow:
            uow.publish(product_event(n))
    second_bus = RabbitBus(AMQP_URL, delivery_limit=3)
    await second_bus.start()
    relays = [OutboxRelay(db, bus, batch_size=50), OutboxRelay(db, second_bus, batch_size=50)]
    try:
        # Both relays race over the same rows; SKIP LOCKED keeps them apart.
        while True:
            sent = await asyncio.gather(*(relay.drain_once() for relay in relays))
            if sum(sent) == 0:
                break
    finally:
        for relay in relays:
            relay.close()
        await second_bus.close()
    messages = await drain_queue(queue_name("inventory"), events)
    ids = [m.message_id for m in messages]
    assert len(ids) == events
    assert len(set(ids)) == events
    assert all(m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT for m in messages)
    with db.transaction() as uow:
        unsent = uow.session.scalar(select(func.count()).select_from(db.outbox).where(db.outbox.c.sent_at.is_(None)))
    assert unsent == 0


async def test_unroutable_event_fails_the_publish_and_stays_in_the_outbox(db: Database, bus: RabbitBus) -> None:
    with pytest.raises(UnroutableMessage):
        await bus.publish_batch([OutgoingMessage(event_id=str(uuid.uuid4()), routing_key="nobody.Nothing", body=b"{}")])
    # The relay does not mark an unroutable row sent: it stays for an operator to see.
    with db.transaction() as uow:
        uow.session.execute(
            db.outbox.insert().values(event_id=str(uuid.uuid4()), routing_key="nobody.Nothing", body="{}", created_at=func.now())
        )
    relay = OutboxRelay(db, bus)
    try:
        with pytest.raises(UnroutableMessage):
            await relay.drain_once()
    finally:
        relay.close()
    with db.transaction() as uow:
        assert uow.session.scalar(select(func.count()).select_from(db.outbox).where(db.outbox.c.sent_at.is_(None))) == 1


def count_applications(uow, _event, envelope: Envelope) -> None:
    """Counts how often an event's effect is applied (must end at exactly 1)."""
    uow.session.execute(
        text("INSERT INTO applied (event_id, times) VALUES (:id, 1) ON DUPLICATE KEY UPDATE times = times + 1"),
        {"id": envelope.event_id},
    )


async def test_a_redelivered_event_is_applied_once(db: Database, bus: RabbitBus) -> None:
    consumer = EventConsumer("inventory", db, {"ProductCreated": count_applications})
    envelope = new_envelope(product_event(1), producer="catalog")
    duplicate = OutgoingMessage(
        event_id=envelope.event_id, routing_key=envelope.routing_key, body=envelope.model_dump_json().encode()
    )
    other = new_envelope(product_event(2), producer="catalog")
    await bus.publish_batch([duplicate, duplicate, duplicate])
    await bus.publish_batch([OutgoingMessage(other.event_id, other.routing_key, other.model_dump_json().encode())])
    await bus.consume("inventory", consumer)
    try:
        for _ in range(100):
            with db.transaction() as uow:
                rows = dict(uow.session.execute(select(db.metadata.tables["applied"])).all())
            if len(rows) == 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # let the remaining duplicates be delivered too
        with db.transaction() as uow:
            rows = dict(uow.session.execute(select(db.metadata.tables["applied"])).all())
            inbox = uow.session.scalar(select(func.count()).select_from(db.metadata.tables["inbox"]))
        assert rows == {envelope.event_id: 1, other.event_id: 1}
        assert inbox == 2
        assert bus.consumer_attached("inventory")
    finally:
        consumer.close()


def dead_letters(db: Database) -> list[dict]:
    table = db.metadata.tables["dead_letters"]
    with db.transaction() as uow:
        return [dict(r._mapping) for r in uow.session.execute(select(table).order_by(table.c.id))]


async def wait_until(check, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_poison_message_is_dead_lettered_and_the_rest_keep_flowing(db: Database, bus: RabbitBus) -> None:
    poison = new_envelope(product_event(666), producer="catalog")
    attempts = []

    def handler(uow, event, envelope: Envelope) -> None:
        if envelope.event_id == poison.event_id:
            attempts.append(1)
            raise RuntimeError("this event always fails")
        count_applications(uow, event, envelope)

    consumer = EventConsumer("inventory", db, {"ProductCreated": handler}, backoff_initial=0.01)
    good = [new_envelope(product_event(n), producer="catalog") for n in range(5)]
    await bus.publish_batch([OutgoingMessage(e.event_id, e.routing_key, e.model_dump_json().encode()) for e in [poison, *good]])
    await bus.consume("inventory", consumer)
    try:
        await wait_until(lambda: len(dead_letters(db)) == 1)
        [letter] = dead_letters(db)
        assert letter["event_id"] == poison.event_id
        assert letter["status"] == "pending"
        assert "failed on every attempt" in letter["reason"] and "this event always fails" in letter["reason"]
        assert "RuntimeError" in letter["error"]
        # Tried a few times in place (once more if it first came in a batch with the
        # good ones), not redelivered until the broker's limit.
        assert letter["attempts"] == consumer.unexpected_attempts
        assert consumer.unexpected_attempts <= len(attempts) <= consumer.unexpected_attempts + 1
        with db.transaction() as uow:
            applied = set(uow.session.scalars(select(db.metadata.tables["applied"].c.event_id)))
        assert applied == {e.event_id for e in good}
        assert consumer.status() == "ok"
    finally:
        consumer.close()


async def test_every_kind_of_poison_is_dead_lettered_at_once_with_its_reason(db: Database, bus: RabbitBus) -> None:
    """Not JSON, an unknown type, an unknown version, a payload that fails validation:
    each goes to the dead-letter table on its first delivery, none is retried."""
    calls = []

    def handler(uow, event, envelope: Envelope) -> None:
        calls.append(envelope.event_id)
        count_applications(uow, event, envelope)

    consumer = EventConsumer("inventory", db, {"ProductCreated": handler})
    good = new_envelope(product_event(1), producer="catalog")
    unknown_type = good.model_copy(update={"event_id": str(uuid.uuid4()), "type": "ProductTeleported"})
    unknown_version = good.model_copy(update={"event_id": str(uuid.uuid4()), "version": 99})
    invalid = good.model_copy(update={"event_id": str(uuid.uuid4()), "payload": {**good.payload, "price_minor": "lots"}})
    messages = [
        OutgoingMessage(str(uuid.uuid4()), "catalog.ProductCreated", b"{not json"),
        *(
            OutgoingMessage(e.event_id, "catalog.ProductCreated", e.model_dump_json().encode())
            for e in (unknown_type, unknown_version, invalid, good)
        ),
    ]
    await bus.publish_batch(messages)
    await bus.consume("inventory", consumer)
    try:
        await wait_until(lambda: len(dead_letters(db)) == 4)
        letters = {d["event_id"]: d for d in dead_letters(db)}
        assert "not an event envelope" in letters[messages[0].event_id]["reason"]
        assert letters[messages[0].event_id]["body"] == "{not json"
        assert "no handler for events of type 'ProductTeleported'" in letters[unknown_type.event_id]["reason"]
        assert "ProductCreated v99 cannot be read" in letters[unknown_version.event_id]["reason"]
        assert "price_minor" in letters[invalid.event_id]["reason"]
        assert all(d["attempts"] == 1 and d["status"] == "pending" for d in letters.values())
        assert calls == [good.event_id]
    finally:
        consumer.close()


async def test_a_lock_wait_timeout_makes_the_delivery_wait_not_dead_letter(db: Database, bus: RabbitBus) -> None:
    """A real transient error: the handler's row is locked by another transaction for
    longer than five lock waits (the broker's delivery limit here is 3). The old consumer
    requeued it until the limit and dead-lettered it; now it waits and applies it once."""
    with db.transaction() as uow:
        uow.session.execute(text("INSERT INTO applied (event_id, times) VALUES ('hot-row', 0)"))

    def handler(uow, event, envelope: Envelope) -> None:
        uow.session.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
        uow.session.execute(text("UPDATE applied SET times = times + 1 WHERE event_id = 'hot-row'"))

    consumer = EventConsumer("inventory", db, {"ProductCreated": handler}, backoff_max=0.5)
    envelope = new_envelope(product_event(7), producer="catalog")
    blocker = pymysql.connect(host="127.0.0.1", user="root", password="", database=DB_NAME, autocommit=False)
    try:
        with blocker.cursor() as cur:
            cur.execute("SELECT * FROM applied WHERE event_id = 'hot-row' FOR UPDATE")
        await bus.publish_batch([OutgoingMessage(envelope.event_id, envelope.routing_key, envelope.model_dump_json().encode())])
        await bus.consume("inventory", consumer)
        await wait_until(lambda: consumer.status().startswith("waiting on its database"), timeout=15)
        await asyncio.sleep(6)  # several lock waits, more than the delivery limit
        assert "Lock wait timeout" in consumer.status()
        blocker.rollback()
        await wait_until(lambda: consumer.status() == "ok", timeout=15)
        with db.transaction() as uow:
            assert uow.session.scalar(text("SELECT times FROM applied WHERE event_id = 'hot-row'")) == 1
        assert dead_letters(db) == []
    finally:
        blocker.close()
        consumer.close()


async def test_what_the_broker_dead_letters_moves_into_the_table(db: Database, bus: RabbitBus) -> None:
    """A message the broker gave up on (its delivery limit: a process died on it again
    and again) is drained from the dead-letter queue into the table, reason and all."""
    envelope = new_envelope(product_event(9), producer="catalog")
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name("inventory"), ensure=True)
        await bus.publish_batch([OutgoingMessage(envelope.event_id, envelope.routing_key, envelope.model_dump_json().encode())])
        for _ in range(4):  # the delivery limit is 3: the fourth return dead-letters it
            message = await queue.get(no_ack=False, timeout=10)
            await message.nack(requeue=True)
    finally:
        await connection.close()
    consumer = EventConsumer("inventory", db, {"ProductCreated": count_applications})
    await bus.consume("inventory", consumer)
    try:
        await wait_until(lambda: len(dead_letters(db)) == 1)
        [letter] = dead_letters(db)
        assert letter["event_id"] == envelope.event_id
        assert letter["event_type"] == "ProductCreated"
        assert letter["routing_key"] == "catalog.ProductCreated"
        assert letter["reason"].startswith("dead-lettered by the broker (delivery_limit")
        # Replayed by hand, it is applied once.
        assert consumer.handle(Envelope.model_validate_json(letter["body"])) is True
    finally:
        consumer.close()


async def test_a_backlog_is_applied_in_batches_each_event_once(db: Database, bus: RabbitBus) -> None:
    """What the broker has ready is applied a batch per transaction (inbox rows inserted
    together, one commit), every event exactly once, duplicates within a batch included."""
    from prometheus_client import REGISTRY

    def batches() -> tuple[float, float]:
        count = REGISTRY.get_sample_value("pos_consumer_batch_size_count", {"service": "inventory"}) or 0.0
        total = REGISTRY.get_sample_value("pos_consumer_batch_size_sum", {"service": "inventory"}) or 0.0
        return count, total

    before = batches()
    envelopes = [new_envelope(product_event(n), producer="catalog") for n in range(300)]
    messages = [OutgoingMessage(e.event_id, e.routing_key, e.model_dump_json().encode()) for e in envelopes]
    await bus.publish_batch(messages + messages[:50])  # 50 delivered twice
    consumer = EventConsumer("inventory", db, {"ProductCreated": count_applications})
    await bus.consume("inventory", consumer)
    try:

        def applied() -> dict[str, int]:
            with db.transaction() as uow:
                return dict(uow.session.execute(select(db.metadata.tables["applied"])).all())

        await wait_until(lambda: len(applied()) == 300)
        await asyncio.sleep(0.5)
        assert set(applied().values()) == {1}
        count, total = (a - b for a, b in zip(batches(), before, strict=True))
        assert total >= 300 and count < total / 5, f"{count} batches for {total} deliveries: not batched"
    finally:
        consumer.close()
