"""outlet currencies from identity (OutletCreated, OutletChanged; ADR 0075) and the
currency of an outlet's shelf price (OutletPriceChanged's `currency`)

outlet_zones.currency: NULL until the outlet's next announcement (rows from before this
change), when the settings' own currency is used as before. outlet_prices.currency: NULL
for rows kept before, which were in the product's currency (what the event carried).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 22:50:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: Union[str, None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("outlet_zones", sa.Column("currency", sa.String(length=3), nullable=True))
    op.add_column("outlet_prices", sa.Column("currency", sa.String(length=3), nullable=True))


def downgrade() -> None:
    op.drop_column("outlet_prices", "currency")
    op.drop_column("outlet_zones", "currency")
