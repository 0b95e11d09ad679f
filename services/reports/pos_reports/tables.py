"""Read models, built from events only (nothing here is written by an API call).

Money is integer minor units; every money row carries its currency (an outlet's sales
are in one currency, and reports never add two currencies together). Days and hours
are the outlet's local calendar (its timezone from OutletCreated; UTC until known).

Pre-aggregated tables (one row per outlet and day, and per product, category, cashier,
tender or hour within the day) make a report's cost grow with the days in its range,
not with the sales in it. The facts tables (sale_facts, refund_facts, shifts) are only
read by key, to make an event idempotent by its business id and to find what a refund
refers to.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

from pos_platform.messaging_tables import add_messaging_tables

metadata = MetaData()

# Microseconds on MariaDB too (a plain DATETIME would drop them): stock levels keep
# the newest event's value, and two movements often fall within one second.
Moment = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")


def _money(name: str) -> Column:
    return Column(name, BigInteger, nullable=False, default=0, server_default="0")


def _count(name: str) -> Column:
    return Column(name, BigInteger, nullable=False, default=0, server_default="0")


def _sales_measures() -> list[Column]:
    """What the day, hour and cashier tables sum. gross = charged, tax included, after
    discounts; net = gross - tax. Refunds are counted on the day they are given."""
    return [
        Column("currency", String(3), nullable=False, default="", server_default=""),
        _count("sales_count"),
        _count("items_sold"),
        _money("gross_minor"),
        _money("discount_minor"),
        _money("tax_minor"),
        _money("net_minor"),
        _money("cost_minor"),
        _count("refund_count"),
        _count("refund_items"),
        _money("refund_minor"),
        _money("refund_tax_minor"),
        _money("refund_cost_minor"),
    ]


def _line_measures() -> list[Column]:
    """What the product and category tables sum (cost: at the time of the sale;
    refund_cost: the cost of refunded goods put back on the shelf)."""
    return [
        Column("currency", String(3), nullable=False, default="", server_default=""),
        _count("qty"),
        _money("gross_minor"),
        _money("discount_minor"),
        _money("tax_minor"),
        _money("net_minor"),
        _money("cost_minor"),
        _count("refund_qty"),
        _money("refund_minor"),
        _money("refund_tax_minor"),
        _money("refund_cost_minor"),
    ]


daily_sales = Table(
    "daily_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    *_sales_measures(),
    _count("split_count"),  # sales paid with more than one tender
    _count("void_count"),
    Index("ix_daily_sales_day", "day"),
)

hourly_sales = Table(
    "hourly_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("hour", SmallInteger, primary_key=True, autoincrement=False),
    *_sales_measures(),
)

item_sales = Table(
    "item_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("category_id", String(36), nullable=False, default="", server_default=""),
    *_line_measures(),
    Index("ix_item_sales_day", "day"),
)

category_sales = Table(
    "category_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("category_id", String(36), primary_key=True),  # "" when the product has none
    *_line_measures(),
)

cashier_sales = Table(
    "cashier_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("cashier_id", String(36), primary_key=True),
    Column("register_id", String(36), primary_key=True),  # "" when the event does not say
    *_sales_measures(),
    _count("void_count"),
)

tender_sales = Table(
    "tender_sales",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("currency", String(3), nullable=False, default="", server_default=""),
    # From the sales service: what each tender paid of completed sales, and gave back on refunds.
    _money("amount_minor"),
    _count("count"),
    _money("refund_minor"),
    _count("refund_count"),
    # From the payments service: captured and refunded (a cross-check of the above).
    _money("captured_minor"),
    _count("captured_count"),
    _money("payment_refunded_minor"),
    _count("payment_refund_count"),
    Index("ix_tender_sales_day", "day"),
)

# Current stock per outlet and product, from the stock events' on_hand_after (the newest
# event wins, whatever order they arrive in), and the reorder point LowStockDetected told.
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("product_id", String(36), primary_key=True),
    Column("on_hand", BigInteger, nullable=False, default=0, server_default="0"),
    Column("on_hand_at", Moment, nullable=True),
    Column("reorder_point", BigInteger, nullable=True),
    Column("reorder_point_at", Moment, nullable=True),
)

# One row per completed sale: its buckets and, per line, the cost at the time of sale
# (JSON), so a refund is costed and categorised like the sale it refunds.
sale_facts = Table(
    "sale_facts",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("cashier_id", String(36), nullable=False),
    Column("register_id", String(36), nullable=False, default=""),
    Column("day", Date, nullable=False),
    Column("hour", SmallInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("lines", LongText, nullable=False),
)

refund_facts = Table(
    "refund_facts",
    metadata,
    Column("refund_id", String(36), primary_key=True),
    Column("sale_id", String(36), nullable=False),
    Column("outlet_id", String(36), nullable=False),
    Column("day", Date, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
)

# Shift (Z) summaries as ShiftClosed tells them; day = local day of the close.
shifts = Table(
    "shifts",
    metadata,
    Column("shift_id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("register_id", String(36), nullable=False),
    Column("cashier_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("day", Date, nullable=False),
    Column("opened_at", String(40), nullable=False),
    Column("closed_at", String(40), nullable=False),
    Column("opening_float_minor", BigInteger, nullable=False),
    Column("expected_cash_minor", BigInteger, nullable=False),
    Column("counted_cash_minor", BigInteger, nullable=False),
    Column("over_short_minor", BigInteger, nullable=False),
    Column("sales_count", BigInteger, nullable=False),
    Column("sales_total_minor", BigInteger, nullable=False),
    Column("refunds_total_minor", BigInteger, nullable=False),
    Index("ix_shifts_outlet_day", "outlet_id", "day"),
)

# Replicas of other services' data: names, currencies, timezones and cost prices.
outlets = Table(
    "outlets",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False, default="UTC", server_default="UTC"),
)

products = Table(
    "products",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("cost_minor", BigInteger, nullable=False, default=0),
    Column("category_id", String(36), nullable=True),
    Column("price_minor", BigInteger, nullable=False, default=0, server_default="0"),
    Column("currency", String(3), nullable=False, default="", server_default=""),
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
)

categories = Table(
    "categories",
    metadata,
    Column("category_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
)

# Every table the rebuild empties (the replicas too: history rebuilds them).
READ_MODELS = (
    daily_sales,
    hourly_sales,
    item_sales,
    category_sales,
    cashier_sales,
    tender_sales,
    stock_levels,
    sale_facts,
    refund_facts,
    shifts,
    outlets,
    products,
    categories,
    users,
)

add_messaging_tables(metadata)
