"""sync exceptions: what was found in figures (facts) and who resolved it by name

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sync_exceptions") as batch:
        batch.add_column(sa.Column("resolved_by_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("facts", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_exceptions") as batch:
        batch.drop_column("facts")
        batch.drop_column("resolved_by_name")
