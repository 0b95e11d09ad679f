"""cash control per currency: a cash movement names its currency, and a shift keeps an
opening float and a blind count per accepted foreign currency (ADR 0063)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("cash_movements") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
    # Every movement so far was in its shift's (the outlet's) currency.
    op.execute(
        "UPDATE cash_movements SET currency = "
        "(SELECT shifts.currency FROM shifts WHERE shifts.id = cash_movements.shift_id) WHERE currency IS NULL"
    )
    op.create_table(
        "shift_foreign_cash",
        sa.Column("shift_id", sa.String(length=36), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        sa.Column("opening_float_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("counted_minor", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("shift_foreign_cash")
    with op.batch_alter_table("cash_movements") as batch:
        batch.drop_column("currency")
