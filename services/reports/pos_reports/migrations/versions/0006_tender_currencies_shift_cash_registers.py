"""tenders per currency, the drawer per currency at a shift's close, registers (ADR 0072)

- tender_currency_sales: each tender under the currency it was paid in (foreign cash in
  its own), with what was handed over, what it paid and the change;
- shift_cash: ShiftClosed's cash_by_currency, a row per shift and currency;
- registers: a replica of identity's registers (RegisterChanged), for their names.

Empty at first: a rebuild (ADR 0033) fills them from the history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(36).with_variant(mysql.VARCHAR(36, charset='ascii', collation='ascii_bin'), 'mysql')
LABEL = sa.String(36).with_variant(mysql.VARCHAR(36, charset='utf8mb4', collation='utf8mb4_bin'), 'mysql')
CURRENCY = sa.String(3).with_variant(mysql.VARCHAR(3, charset='ascii', collation='ascii_bin'), 'mysql')
KIND = sa.String(16).with_variant(mysql.VARCHAR(16, charset='ascii', collation='ascii_bin'), 'mysql')


def _sum(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default='0')


def upgrade() -> None:
    op.create_table(
        'tender_currency_sales',
        sa.Column('outlet_id', ID, primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('kind', KIND, primary_key=True),
        sa.Column('tender_currency', CURRENCY, primary_key=True),
        sa.Column('currency', CURRENCY, nullable=False, server_default=''),
        _sum('count'),
        _sum('taken_minor'),
        _sum('amount_minor'),
        _sum('change_minor'),
    )
    op.create_index('ix_tender_currency_sales_day', 'tender_currency_sales', ['day'])
    op.create_table(
        'shift_cash',
        sa.Column('shift_id', ID, primary_key=True),
        sa.Column('currency', CURRENCY, primary_key=True),
        sa.Column('own', sa.Boolean(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in (
            'opening_float_minor', 'sales_minor', 'refunds_minor', 'in_minor', 'out_minor', 'change_given_minor',
            'expected_minor')),
        sa.Column('counted_minor', sa.BigInteger(), nullable=True),
        sa.Column('over_short_minor', sa.BigInteger(), nullable=True),
    )
    op.create_table(
        'registers',
        sa.Column('register_id', LABEL, primary_key=True),
        sa.Column('outlet_id', ID, nullable=False),
        sa.Column('number', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('registers')
    op.drop_table('shift_cash')
    op.drop_index('ix_tender_currency_sales_day', table_name='tender_currency_sales')
    op.drop_table('tender_currency_sales')
