"""foreign cash: the sale_tenders of a foreign-cash tender keep the currency, the amount handed
over in it, and the rate stamped on it with its source and date (ADR 0061)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 12:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sale_tenders") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("foreign_minor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rate", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("rate_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("rate_as_of", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("change_minor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sale_tenders") as batch:
        batch.drop_column("change_minor")
        batch.drop_column("rate_as_of")
        batch.drop_column("rate_source")
        batch.drop_column("rate")
        batch.drop_column("foreign_minor")
        batch.drop_column("currency")
