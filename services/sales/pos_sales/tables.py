from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table

from pos_platform.messaging_tables import LongText, add_messaging_tables

metadata = MetaData()

# Prices as catalog last announced them; the client never sets a price.
price_replica = Table(
    "price_replica",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("category_id", String(36), nullable=True),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_class", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("source_event_at", DateTime, nullable=False),
)

sales = Table(
    "sales",
    metadata,
    Column("id", String(36), primary_key=True),  # chosen by the till: the idempotency key
    Column("outlet_id", String(36), nullable=False),
    Column("cashier_id", String(36), nullable=False),
    Column("request_hash", String(64), nullable=False),
    # PENDING -> COMPLETED | FAILED
    Column("status", String(16), nullable=False),
    # pending -> fulfilled (inventory deducted the stock)
    Column("fulfilment", String(16), nullable=False, default="pending"),
    Column("oversold", Boolean, nullable=False, default=False),
    Column("receipt_number", String(32), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    # The exact answer given, replayed to a retry of the same sale id.
    Column("http_status", Integer, nullable=True),
    Column("answer", LongText, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("completed_at", DateTime, nullable=True),
    Column("fulfilled_at", DateTime, nullable=True),
    Index("ix_sales_outlet_created", "outlet_id", "created_at"),
)

sale_lines = Table(
    "sale_lines",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
)

sale_tenders = Table(
    "sale_tenders",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("tendered_minor", BigInteger, nullable=False),
)

receipt_sequences = Table(
    "receipt_sequences",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

add_messaging_tables(metadata)

