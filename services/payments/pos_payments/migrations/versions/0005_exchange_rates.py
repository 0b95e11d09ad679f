"""exchange rates: the rates cache, the feed's status, manual rates with their history

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("per_eur", sa.String(length=32), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("currency"),
    )
    op.create_table(
        "rate_feed_status",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_reference_date", sa.Date(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.Column("failures_in_a_row", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "manual_rates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=False),
        sa.Column("set_by_name", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("manual_rates", schema=None) as batch_op:
        batch_op.create_index("ix_manual_rates_pair_set", ["base", "quote", "set_at"], unique=False)
        batch_op.create_index("ix_manual_rates_open", ["ended_at", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("manual_rates", schema=None) as batch_op:
        batch_op.drop_index("ix_manual_rates_open")
        batch_op.drop_index("ix_manual_rates_pair_set")
    op.drop_table("manual_rates")
    op.drop_table("rate_feed_status")
    op.drop_table("exchange_rates")
