"""outlet time zones from identity (OutletCreated, OutletChanged; ADR 0072)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:10:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_platform.messaging_tables import Timestamp

revision: str = "0015"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "outlet_zones",
        sa.Column("outlet_id", sa.String(length=36), primary_key=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outlet_zones")
