"""outlet prices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:50:00
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
        "outlet_prices",
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("source_event_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "outlet_id"),
    )


def downgrade() -> None:
    op.drop_table("outlet_prices")
