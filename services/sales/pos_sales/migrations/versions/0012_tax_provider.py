"""tax provider: who calculated a sale's tax (builtin, external, estimated), the API's
calculation id, and its figures per line and jurisdiction (ADR 0064)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:30:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sales") as batch:
        batch.add_column(sa.Column("tax_source", sa.String(length=16), nullable=False, server_default=sa.text("'builtin'")))
        batch.add_column(sa.Column("tax_estimated", sa.Boolean(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("tax_reference", sa.String(length=64), nullable=True))
    op.create_table(
        "sale_tax_lines",
        sa.Column("sale_id", sa.String(length=36), primary_key=True),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("jurisdiction", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("rate", sa.String(length=16), nullable=False),
        sa.Column("taxable_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sale_tax_lines")
    with op.batch_alter_table("sales") as batch:
        batch.drop_column("tax_reference")
        batch.drop_column("tax_estimated")
        batch.drop_column("tax_source")
