from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table

from pos_platform.messaging_tables import Timestamp, add_messaging_tables
from pos_platform.outlets import outlets_table

metadata = MetaData()

stock = Table(
    "stock",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("reorder_point", Integer, nullable=False, default=0),
    # What to order when the level falls to the reorder point (0: not set).
    Column("reorder_qty", Integer, nullable=False, default=0, server_default="0"),
    # LowStockDetected was published for the current dip below the reorder point; cleared
    # when the level rises above it again (so each crossing is announced once).
    Column("low_alerted", Boolean, nullable=False, default=False, server_default="0"),
    Column("updated_at", DateTime, nullable=False),
)

# Product names for stock lists, kept from catalog events, and the oversell policy
# (set here, in inventory): block (a checkout short of stock gets 409) or allow.
products = Table(
    "products",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("oversell", String(8), nullable=False, default="block", server_default="block"),
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
    # the checkout attempt that holds the stock, or that gave it up before its request
    # arrived (a release that finds no reservation leaves a `released` row for it, so
    # the late request takes nothing); None for reservations made without one
    Column("attempt", String(36), nullable=True),
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
    # sale | return | receipt | adjustment | count | transfer_out | transfer_in
    Column("kind", String(16), nullable=False),
    Column("reason", String(64), nullable=False, default=""),
    Column("reference", String(64), nullable=True),
    Column("actor", String(36), nullable=True),
    Column("note", String(200), nullable=True),
    Column("on_hand_after", Integer, nullable=False),
    Column("oversold", Boolean, nullable=False, default=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_ledger_outlet_product", "outlet_id", "product_id", "id"),
    Index("ix_ledger_reference", "reference"),
    # The live stream of an outlet reads its newest rows by id.
    Index("ix_ledger_outlet_id", "outlet_id", "id"),
)

# Refunds whose goods went back on the shelf (a refund is restocked once, whatever
# event id it arrives under).
applied_refunds = Table(
    "applied_refunds",
    metadata,
    Column("refund_id", String(36), primary_key=True),
    Column("sale_id", String(36), nullable=False),
    Column("outlet_id", String(36), nullable=False),
    Column("applied_at", DateTime, nullable=False),
)

# Lines of completed sales naming a product inventory does not know (no ProductCreated
# reached it): never a stock row, never a ledger row while open; applied (ledger rows,
# StockDeducted) once when the product arrives. A forged or corrupted SaleCompleted stays
# here, visible, instead of passing for an oversell.
stock_exceptions = Table(
    "stock_exceptions",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # open -> applied
    Column("cashier_id", String(36), nullable=True),  # the sale's cashier: the ledger row's actor
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime, nullable=True),
    Index("ix_stock_exceptions_product", "product_id", "status"),
    Index("ix_stock_exceptions_outlet", "outlet_id", "status", "created_at"),
)

stock_counts = Table(
    "stock_counts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),  # open -> posted | cancelled
    Column("note", String(200), nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("closed_by", String(36), nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Index("ix_stock_counts_outlet", "outlet_id", "created_at"),
)

stock_count_lines = Table(
    "stock_count_lines",
    metadata,
    Column("count_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("counted", Integer, nullable=False),
    # on_hand when the quantity was entered: sales made after it are not counted twice.
    Column("expected", Integer, nullable=False),
    Column("entered_by", String(36), nullable=False),
    Column("entered_at", DateTime, nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("from_outlet_id", String(36), nullable=False),
    Column("to_outlet_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),  # created -> sent -> received | cancelled
    Column("note", String(200), nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_by", String(36), nullable=True),
    Column("sent_at", DateTime, nullable=True),
    Column("received_by", String(36), nullable=True),
    Column("received_at", DateTime, nullable=True),
    Index("ix_transfers_from", "from_outlet_id", "created_at"),
    Index("ix_transfers_to", "to_outlet_id", "created_at"),
)

transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column("transfer_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("qty", Integer, nullable=False),  # sent
    Column("received", Integer, nullable=True),  # in good condition
    Column("damaged", Integer, nullable=True),
)

add_messaging_tables(metadata, consumer=True)
known_outlets = outlets_table(metadata)

# The daily low-stock digest's tables (their own module: issue 17, ADR 0069).
from pos_inventory import digest_tables as _digest_tables  # noqa: E402,F401

# Suppliers and purchase orders (issue 17, ADR 0071).
from pos_inventory import purchasing_tables as _purchasing_tables  # noqa: E402,F401
