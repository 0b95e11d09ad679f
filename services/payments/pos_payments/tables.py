from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table

from pos_platform.messaging_tables import add_messaging_tables

metadata = MetaData()

payments = Table(
    "payments",
    metadata,
    # Chosen by the caller (sales), so a retried request finds the payment it made.
    Column("id", String(36), primary_key=True),
    Column("sale_id", String(36), nullable=False, unique=True),
    Column("outlet_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # captured | declined | refunded
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_payments_outlet_created", "outlet_id", "created_at"),
)

payment_tenders = Table(
    "payment_tenders",
    metadata,
    Column("payment_id", String(36), ForeignKey("payments.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),  # cash | card
    Column("amount_minor", BigInteger, nullable=False),
    Column("tendered_minor", BigInteger, nullable=False),
    Column("change_minor", BigInteger, nullable=False),
    Column("provider_ref", String(128), nullable=True),
)

add_messaging_tables(metadata)
