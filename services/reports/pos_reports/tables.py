"""Read models, built from events only (nothing here is written by an API call)."""

from sqlalchemy import BigInteger, Column, Date, Index, MetaData, String, Table

from pos_platform.messaging_tables import add_messaging_tables

metadata = MetaData()

# One row per outlet and UTC day: gross is the total including tax, net = gross - tax.
daily_sales = Table(
    "daily_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("sales_count", BigInteger, nullable=False, default=0),
    Column("items_sold", BigInteger, nullable=False, default=0),
    Column("gross_minor", BigInteger, nullable=False, default=0),
    Column("tax_minor", BigInteger, nullable=False, default=0),
    Column("net_minor", BigInteger, nullable=False, default=0),
    Index("ix_daily_sales_day", "day"),
)

item_sales = Table(
    "item_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("qty", BigInteger, nullable=False, default=0),
    Column("gross_minor", BigInteger, nullable=False, default=0),
    Column("tax_minor", BigInteger, nullable=False, default=0),
    Index("ix_item_sales_day", "day"),
)

tender_sales = Table(
    "tender_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("amount_minor", BigInteger, nullable=False, default=0),
    Column("count", BigInteger, nullable=False, default=0),
    Index("ix_tender_sales_day", "day"),
)

# Replicas of other services' data, for names and (later) margins.
outlets = Table(
    "outlets",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("cost_minor", BigInteger, nullable=False, default=0),
    Column("category_id", String(36), nullable=True),
)

add_messaging_tables(metadata)
