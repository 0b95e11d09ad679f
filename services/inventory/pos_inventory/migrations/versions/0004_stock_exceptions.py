"""stock exceptions: lines of sales naming a product inventory does not know

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "stock_exceptions",
        sa.Column("sale_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cashier_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("sale_id", "product_id"),
    )
    with op.batch_alter_table("stock_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_stock_exceptions_product", ["product_id", "status"], unique=False)
        batch_op.create_index("ix_stock_exceptions_outlet", ["outlet_id", "status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_exceptions_outlet")
        batch_op.drop_index("ix_stock_exceptions_product")
    op.drop_table("stock_exceptions")
