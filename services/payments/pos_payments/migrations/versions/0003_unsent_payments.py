"""payments: what the unsent status needs (requests talking to the card processor per
payment; card tenders whose charge may have reached it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 11:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drives_in_flight", sa.Integer(), server_default=sa.text("0"), nullable=False))
    with op.batch_alter_table("payment_tenders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("maybe_sent", sa.Boolean(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("payment_tenders", schema=None) as batch_op:
        batch_op.drop_column("maybe_sent")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("drives_in_flight")
