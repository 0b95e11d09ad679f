"""tax rate schedule: a tax class's rate per outlet from a date on (ADR 0066)

Revision ID: 0014
Revises: 0012 (0013 is added in parallel; the chain is fixed at merge)
Create Date: 2026-12-07 15:40:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_platform.messaging_tables import Timestamp

revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "outlet_tax_rates",
        sa.Column("outlet_id", sa.String(length=36), primary_key=True),
        sa.Column("tax_class", sa.String(length=32), primary_key=True),
        sa.Column("effective_from", sa.Date(), primary_key=True),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=False),
        sa.Column("set_by_name", sa.String(length=200), nullable=False),
        sa.Column("set_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outlet_tax_rates")
