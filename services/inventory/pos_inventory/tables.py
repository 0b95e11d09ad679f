from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table

from pos_platform.messaging_tables import add_messaging_tables

metadata = MetaData()

stock = Table(
    "stock",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("reorder_point", Integer, nullable=False, default=0),
    Column("updated_at", DateTime, nullable=False),
)

# Product names for stock lists, kept from catalog events.
products = Table(
    "products",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

reservations = Table(
    "reservations",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    # held -> consumed (sale completed) | released (sale failed) | expired
    Column("status", String(16), nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_reservations_status_expiry", "status", "expires_at"),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("qty", Integer, nullable=False),
)

# Every movement is a row; stock.on_hand always equals the sum of delta.
ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("outlet_id", String(36), nullable=False),
    Column("product_id", String(36), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", String(64), nullable=False, default=""),
    Column("reference", String(64), nullable=True),
    Column("actor", String(36), nullable=True),
    Column("on_hand_after", Integer, nullable=False),
    Column("oversold", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_ledger_outlet_product", "outlet_id", "product_id", "id"),
    Index("ix_ledger_reference", "reference"),
)

add_messaging_tables(metadata)
