"""Migration steps for the messaging tables, shared by the services' Alembic scripts
(the same table in three services: one definition, not three copies). A later change to
these tables gets a new function here and a new migration in each service; these stay
as they are."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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
