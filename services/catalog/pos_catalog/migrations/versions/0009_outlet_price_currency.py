"""an outlet's shelf price is in the outlet's currency: price_overrides.currency (rows
kept before were in the product's currency, which they get)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("price_overrides", sa.Column("currency", sa.String(length=3), nullable=True))
    op.execute(
        "UPDATE price_overrides SET currency = "
        "(SELECT products.currency FROM products WHERE products.id = price_overrides.product_id)"
    )


def downgrade() -> None:
    op.drop_column("price_overrides", "currency")
