"""registers and outlets replicas; receipt numbers unique per outlet

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 02:00:00

Receipt numbers used to be labelled with the register id's first 8 characters, so two
registers whose ids began alike printed the same numbers in one outlet. From now on they
carry the register's number in its outlet (R<number>-<sequence>; each register's
sequence goes on where it was, without a gap), and (outlet, receipt number) is unique.
Numbers already issued are printed on receipts and are not rewritten: where one was
issued more than once, the later sales are marked `receipt_duplicate` = 1, 2, ... (0
for every other sale), which keeps them out of the unique key and lists them.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_platform.messaging_tables import Timestamp
from pos_platform.migration_steps import create_known_outlets_v1, drop_known_outlets_v1

revision: str = "0007"
down_revision: Union[str, None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

sales = sa.table(
    "sales",
    sa.column("id", sa.String),
    sa.column("outlet_id", sa.String),
    sa.column("receipt_number", sa.String),
    sa.column("receipt_duplicate", sa.Integer),
    sa.column("completed_at", sa.DateTime),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    create_known_outlets_v1()
    op.create_table(
        "known_registers",
        sa.Column("register_id", sa.String(length=36), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source_event_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("register_id"),
    )
    with op.batch_alter_table("sales") as batch:
        batch.add_column(sa.Column("receipt_duplicate", sa.Integer(), server_default=sa.text("0"), nullable=False))
    bind = op.get_bind()
    repeated = bind.execute(
        sa.select(sales.c.outlet_id, sales.c.receipt_number)
        .where(sales.c.receipt_number.is_not(None))
        .group_by(sales.c.outlet_id, sales.c.receipt_number)
        .having(sa.func.count() > 1)
    ).all()
    for outlet_id, number in repeated:
        ids = bind.execute(
            sa.select(sales.c.id)
            .where(sales.c.outlet_id == outlet_id, sales.c.receipt_number == number)
            .order_by(sales.c.completed_at, sales.c.created_at, sales.c.id)
        ).scalars().all()
        for n, sale_id in enumerate(ids[1:], start=1):
            bind.execute(sales.update().where(sales.c.id == sale_id).values(receipt_duplicate=n))
    with op.batch_alter_table("sales") as batch:
        batch.drop_index("ix_sales_outlet_receipt")
        batch.create_index("uq_sales_outlet_receipt", ["outlet_id", "receipt_number", "receipt_duplicate"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("sales") as batch:
        batch.drop_index("uq_sales_outlet_receipt")
        batch.create_index("ix_sales_outlet_receipt", ["outlet_id", "receipt_number"], unique=False)
        batch.drop_column("receipt_duplicate")
    op.drop_table("known_registers")
    drop_known_outlets_v1()
