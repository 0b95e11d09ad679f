"""Migration steps shared by the services' Alembic scripts (the same table or change in
several services: one definition, not six copies). A later change gets a new function
here and a new migration in each service; these stay as they are."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from pos_platform.messaging_tables import LongText


def create_dead_letters_v1() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=True),
        sa.Column("routing_key", sa.String(length=200), nullable=True),
        sa.Column("body", LongText, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consumer", "event_id", name="uq_dead_letters_event"),
    )
    op.create_index("ix_dead_letters_status", "dead_letters", ["status", "id"], unique=False)


def drop_dead_letters_v1() -> None:
    op.drop_index("ix_dead_letters_status", table_name="dead_letters")
    op.drop_table("dead_letters")


def timestamps_to_microseconds_v1(columns: dict[str, dict[str, bool]]) -> None:
    """DATETIME -> DATETIME(6) on MySQL/MariaDB for {table: {column: nullable}} (SQLite
    keeps whatever precision it is given). Where events are ordered and lag is read, a
    second was too coarse: a sale and its deduction land in the same second."""
    if op.get_bind().dialect.name != "mysql":
        return
    for table, cols in columns.items():
        for column, nullable in cols.items():
            op.alter_column(table, column, type_=mysql.DATETIME(fsp=6), existing_type=sa.DateTime(), existing_nullable=nullable)


def timestamps_to_seconds_v1(columns: dict[str, dict[str, bool]]) -> None:
    if op.get_bind().dialect.name != "mysql":
        return
    for table, cols in columns.items():
        for column, nullable in cols.items():
            op.alter_column(table, column, type_=sa.DateTime(), existing_type=mysql.DATETIME(fsp=6), existing_nullable=nullable)


MESSAGING_TIMESTAMPS = {"outbox": {"created_at": False, "sent_at": True}, "inbox": {"processed_at": False}}


def create_known_outlets_v1() -> None:
    """The outlets replica (pos_platform.outlets), filled by identity's OutletCreated."""
    op.create_table(
        "known_outlets",
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id"),
    )


def drop_known_outlets_v1() -> None:
    op.drop_table("known_outlets")


def announce_v1(producer: str, events: list[tuple[object, str | None]]) -> None:
    """Write events into the service's outbox from a migration (each with its outlet
    id): what a replica built after the data existed needs to catch up. The relay sends
    them like any other; consumers apply them idempotently (they are upserts)."""
    from datetime import UTC, datetime

    from pos_contracts import new_envelope

    if not events:
        return
    outbox = sa.table("outbox", sa.column("event_id"), sa.column("routing_key"), sa.column("body"), sa.column("created_at"))
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for event, outlet_id in events:
        envelope = new_envelope(event, producer=producer, outlet_id=outlet_id)
        rows.append(
            {
                "event_id": envelope.event_id,
                "routing_key": envelope.routing_key,
                "body": envelope.model_dump_json(),
                "created_at": now,
            }
        )
    op.get_bind().execute(outbox.insert(), rows)
