"""offline sales: the flag on a sale, and the sync exceptions list

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:10:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_platform.messaging_tables import Timestamp

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sales") as batch:
        batch.add_column(sa.Column("offline", sa.Boolean(), server_default=sa.text("0"), nullable=False))
    op.create_table(
        "sync_exceptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.String(length=36), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("receipt_number", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("resolved_at", Timestamp, nullable=True),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_exceptions_outlet_open", "sync_exceptions", ["outlet_id", "resolved_at", "id"], unique=False)
    op.create_index("uq_sync_exceptions_sale_kind", "sync_exceptions", ["sale_id", "kind"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_sync_exceptions_sale_kind", table_name="sync_exceptions")
    op.drop_index("ix_sync_exceptions_outlet_open", table_name="sync_exceptions")
    op.drop_table("sync_exceptions")
    with op.batch_alter_table("sales") as batch:
        batch.drop_column("offline")
