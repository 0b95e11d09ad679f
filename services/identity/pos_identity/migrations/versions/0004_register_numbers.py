"""register numbers; outlets and registers announced to the services' replicas

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:40:00

Each register gets its number in its outlet (1, 2, ... in the order they were made),
printed in its receipt numbers from now on. Every existing outlet and register is
announced once more (OutletCreated, RegisterChanged) through the outbox: catalog,
inventory and sales now keep replicas of them and check the ids a request names.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from pos_contracts.events import OutletCreated, RegisterChanged
from pos_platform.migration_steps import announce_v1

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

registers = sa.table(
    "registers",
    sa.column("id", sa.String),
    sa.column("outlet_id", sa.String),
    sa.column("name", sa.String),
    sa.column("number", sa.Integer),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime),
)
outlets = sa.table("outlets", sa.column("id"), sa.column("name"), sa.column("currency"), sa.column("timezone"))


def upgrade() -> None:
    with op.batch_alter_table("registers") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(registers.c.id, registers.c.outlet_id).order_by(registers.c.outlet_id, registers.c.created_at, registers.c.id)).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outlet_id] = counts.get(row.outlet_id, 0) + 1
        bind.execute(registers.update().where(registers.c.id == row.id).values(number=counts[row.outlet_id]))
    with op.batch_alter_table("registers") as batch:
        batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_registers_outlet_number", ["outlet_id", "number"])

    events: list[tuple[object, str | None]] = [
        (OutletCreated(outlet_id=o.id, name=o.name, currency=o.currency, timezone=o.timezone or "UTC"), o.id)
        for o in bind.execute(sa.select(outlets)).all()
    ]
    events += [
        (RegisterChanged(register_id=r.id, outlet_id=r.outlet_id, number=r.number, name=r.name, active=bool(r.active)), r.outlet_id)
        for r in bind.execute(sa.select(registers)).all()
    ]
    announce_v1("identity", events)


def downgrade() -> None:
    with op.batch_alter_table("registers") as batch:
        batch.drop_constraint("uq_registers_outlet_number", type_="unique")
        batch.drop_column("number")
