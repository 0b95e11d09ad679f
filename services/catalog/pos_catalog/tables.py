from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, MetaData, String, Table, Text

from pos_platform.messaging_tables import add_messaging_tables

metadata = MetaData()

categories = Table(
    "categories",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", String(36), ForeignKey("categories.id"), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("category_id", String(36), ForeignKey("categories.id"), nullable=True),
    Column("price_minor", BigInteger, nullable=False),
    Column("cost_minor", BigInteger, nullable=False, default=0),
    Column("currency", String(3), nullable=False),
    Column("tax_class", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_products_name", "name"),
)

barcodes = Table(
    "barcodes",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), nullable=False, index=True),
)

add_messaging_tables(metadata)
