"""the product's cost in sales' price replica and on each sale line (SaleLine.unit_cost_minor)

price_replica.cost_minor: NULL for rows kept before this change, until the product's
next ProductCreated/ProductChanged; sale_lines.unit_cost_minor: NULL for sales made
before (or from a replica row without a cost). NULL goes out as no unit_cost_minor, and
the reports cost such a line from their own catalog replica, as before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:40:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: Union[str, None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("price_replica", sa.Column("cost_minor", sa.BigInteger(), nullable=True))
    op.add_column("sale_lines", sa.Column("unit_cost_minor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("sale_lines", "unit_cost_minor")
    op.drop_column("price_replica", "cost_minor")
