"""Tables of suppliers and purchase orders (issue 17, ADR 0071), in inventory's metadata:
the suppliers (chain-wide), which products each one supplies, the orders (one outlet,
one supplier) and their lines. Receipts against an order are ledger rows (kind
"receipt", reference the order's number), not a table of their own."""

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, UniqueConstraint

from pos_inventory.tables import metadata

suppliers = Table(
    "suppliers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    # Where a purchase order is mailed ("" = none: send the CSV yourself).
    Column("email", String(254), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
    Column("note", String(200), nullable=False, default=""),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("name", name="uq_suppliers_name"),
)

# Which supplier supplies which product (a product may have several suppliers).
supplier_products = Table(
    "supplier_products",
    metadata,
    Column("supplier_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    # The supplier's own code for the product, printed on the order ("" = none).
    Column("supplier_sku", String(64), nullable=False, default=""),
    Index("ix_supplier_products_product", "product_id"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    # A number people quote to the supplier: "PO-000042".
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("outlet_id", String(36), nullable=False),
    Column("supplier_id", String(36), nullable=False),
    # draft -> sent -> partially_received -> received | cancelled (draft or sent)
    Column("status", String(20), nullable=False),
    # The outlet's currency when the order was drafted: every cost of the order is in it.
    Column("currency", String(3), nullable=False),
    Column("note", String(200), nullable=False, default=""),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_by", String(36), nullable=True),
    Column("sent_at", DateTime, nullable=True),
    # The address the order was mailed to ("" = marked sent without a mail).
    Column("sent_to", String(254), nullable=True),
    Column("received_at", DateTime, nullable=True),  # last receipt
    Column("closed_at", DateTime, nullable=True),  # fully received, closed short, or cancelled
    Index("ix_purchase_orders_outlet", "outlet_id", "created_at"),
    Index("ix_purchase_orders_supplier", "supplier_id", "created_at"),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("po_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("qty", Integer, nullable=False),  # ordered
    Column("received", Integer, nullable=False, default=0),
    Column("unit_cost_minor", BigInteger, nullable=False, default=0),  # in the order's currency
)
