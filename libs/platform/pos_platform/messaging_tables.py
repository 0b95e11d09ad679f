"""Outbox and inbox tables, added to every service's metadata (and migrations)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql

LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")


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
        Column("created_at", DateTime, nullable=False),
        Column("sent_at", DateTime, nullable=True),
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
        Column("processed_at", DateTime, nullable=False),
    )


def add_messaging_tables(metadata: MetaData) -> None:
    outbox_table(metadata)
    inbox_table(metadata)
