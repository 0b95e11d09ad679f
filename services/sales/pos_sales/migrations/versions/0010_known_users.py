"""identity's users kept by sales: who may be named as an offline sale's cashier

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:00:00

Filled from UserChanged (identity's migration 0005 announces every existing user once).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_platform.messaging_tables import LongText, Timestamp

revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "known_users",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("outlets", LongText, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source_event_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("known_users")
