"""suppliers, the products each supplies, purchase orders and their lines

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:50:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_suppliers_name"),
    )
    op.create_table(
        "supplier_products",
        sa.Column("supplier_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("supplier_sku", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id", "product_id"),
    )
    op.create_index("ix_supplier_products_product", "supplier_products", ["product_id"])
    op.create_table(
        "purchase_orders",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("outlet_id", sa.String(36), nullable=False),
        sa.Column("supplier_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_by", sa.String(36), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("sent_to", sa.String(254), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_purchase_orders_outlet", "purchase_orders", ["outlet_id", "created_at"])
    op.create_index("ix_purchase_orders_supplier", "purchase_orders", ["supplier_id", "created_at"])
    op.create_table(
        "purchase_order_lines",
        sa.Column("po_id", ID, nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("po_id", "product_id"),
    )


def downgrade() -> None:
    op.drop_table("purchase_order_lines")
    op.drop_index("ix_purchase_orders_supplier", table_name="purchase_orders")
    op.drop_index("ix_purchase_orders_outlet", table_name="purchase_orders")
    op.drop_table("purchase_orders")
    op.drop_index("ix_supplier_products_product", table_name="supplier_products")
    op.drop_table("supplier_products")
    op.drop_table("suppliers")
