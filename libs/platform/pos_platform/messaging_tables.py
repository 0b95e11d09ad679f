"""Outbox and inbox tables, added to every service's metadata (and migrations), and the
dead-letter table of the services that consume events."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql

LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")
# A moment to the microsecond where events are ordered and lag is read (outbox, inbox,
# the ledger, sales): MySQL's plain DATETIME keeps whole seconds.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def outbox_table(metadata: MetaData) -> Table:
    if "outbox" in metadata.tables:
        return metadata.tables["outbox"]
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("routing_key", String(200), nullable=False),
        Column("body", LongText, nullable=False),
        Column("created_at", Timestamp, nullable=False),
        Column("sent_at", Timestamp, nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )


def inbox_table(metadata: MetaData) -> Table:
    """(consumer, event_id) inserted in the handler's transaction: exactly-once effects."""
    if "inbox" in metadata.tables:
        return metadata.tables["inbox"]
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(64), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", Timestamp, nullable=False),
    )


def dead_letters_table(metadata: MetaData) -> Table:
    """Events the consumer gave up on, each with the reason, until an operator replays or
    discards it (docs/reliability.md). One row per (consumer, event id): a message that
    is dead-lettered again (a redelivery, a replay that fails) updates its row."""
    if "dead_letters" in metadata.tables:
        return metadata.tables["dead_letters"]
    return Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("consumer", String(64), nullable=False),
        # The envelope's event id, or the broker's message id when the body is no envelope.
        Column("event_id", String(64), nullable=True),
        Column("event_type", String(100), nullable=True),
        Column("routing_key", String(200), nullable=True),
        Column("body", LongText, nullable=False),
        Column("reason", String(500), nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("status", String(16), nullable=False),  # pending | replayed | discarded
        Column("first_failed_at", DateTime, nullable=False),
        Column("failed_at", DateTime, nullable=False),
        Column("resolved_at", DateTime, nullable=True),
        Column("resolved_by", String(36), nullable=True),
        Column("note", String(500), nullable=True),
        UniqueConstraint("consumer", "event_id", name="uq_dead_letters_event"),
        Index("ix_dead_letters_status", "status", "id"),
    )


def add_messaging_tables(metadata: MetaData, *, consumer: bool = False) -> None:
    """Outbox and inbox for every service; `consumer`: also the dead-letter table."""
    outbox_table(metadata)
    inbox_table(metadata)
    if consumer:
        dead_letters_table(metadata)
