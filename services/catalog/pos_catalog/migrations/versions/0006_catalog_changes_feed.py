"""the tills' replica feed: catalog_changes and change_counter, backfilled

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "catalog_changes",
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "kind", "entity_id"),
    )
    op.create_index("ix_catalog_changes_feed", "catalog_changes", ["outlet_id", "change_seq"], unique=False)
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _backfill()


def _backfill() -> None:
    """Every existing category, product and outlet price gets a change row numbered
    1..n (categories first, then products, then outlet prices), and the counter n: a
    till filling its replica from no cursor reads them all."""
    op.execute(
        "INSERT INTO catalog_changes (outlet_id, kind, entity_id, change_seq) "
        "SELECT outlet_id, kind, entity_id, ROW_NUMBER() OVER (ORDER BY grp, outlet_id, entity_id) FROM ("
        " SELECT '' AS outlet_id, 'c' AS kind, id AS entity_id, 0 AS grp FROM categories"
        " UNION ALL SELECT '', 'p', id, 1 FROM products"
        " UNION ALL SELECT outlet_id, 'p', product_id, 2 FROM price_overrides"
        ") AS everything"
    )
    op.execute("INSERT INTO change_counter (id, seq) SELECT 1, COUNT(*) FROM catalog_changes")


def downgrade() -> None:
    op.drop_table("change_counter")
    op.drop_index("ix_catalog_changes_feed", table_name="catalog_changes")
    op.drop_table("catalog_changes")
