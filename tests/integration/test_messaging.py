"""The messaging guarantees on real MariaDB and RabbitMQ: the outbox relay publishes
every event once with two relays racing, unroutable messages are errors, consumers apply
each event exactly once however often it is delivered, and a poison message is
dead-lettered while the rest keep flowing."""

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
from pos_contracts.topology import dead_letter_queue_name, queue_name
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
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"], check=True, capture_output=True)
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
    add_messaging_tables(metadata)
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
        uow.session.execute(db.outbox.insert().values(event_id=str(uuid.uuid4()), routing_key="nobody.Nothing", body="{}", created_at=func.now()))
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
    duplicate = OutgoingMessage(event_id=envelope.event_id, routing_key=envelope.routing_key, body=envelope.model_dump_json().encode())
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


async def test_poison_message_is_dead_lettered_and_the_rest_keep_flowing(db: Database, bus: RabbitBus) -> None:
    poison = new_envelope(product_event(666), producer="catalog")

    def handler(uow, event, envelope: Envelope) -> None:
        if envelope.event_id == poison.event_id:
            raise RuntimeError("this event always fails")
        count_applications(uow, event, envelope)

    consumer = EventConsumer("inventory", db, {"ProductCreated": handler})
    good = [new_envelope(product_event(n), producer="catalog") for n in range(5)]
    await bus.publish_batch(
        [OutgoingMessage(e.event_id, e.routing_key, e.model_dump_json().encode()) for e in [poison, *good]]
    )
    await bus.consume("inventory", consumer)
    try:
        dead = await drain_queue(dead_letter_queue_name("inventory"), 1, timeout=30)
        assert [m.message_id for m in dead] == [poison.event_id]
        with db.transaction() as uow:
            applied = set(uow.session.scalars(select(db.metadata.tables["applied"].c.event_id)))
        assert applied == {e.event_id for e in good}
    finally:
        consumer.close()
