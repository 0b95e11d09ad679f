"""Read models, built from events only (nothing here is written by an API call).

Money is integer minor units; every money row carries its currency (an outlet's sales
are in one currency, and reports never add two currencies together). Days and hours
are the outlet's local calendar (its timezone from OutletCreated; UTC until known).

Pre-aggregated tables (one row per outlet and day, and per product, category, cashier,
tender or hour within the day) make a report's cost grow with the days in its range,
not with the sales in it. Products over every outlet also have rows per block of 1, 4,
16, 64 and 256 days (product_sales), so a month is a dozen blocks, not 30 days x 20
outlets of rows. Stock value per outlet is kept up to date as levels and costs change
(stock_value). The facts tables (sale_facts, refund_facts, shifts) are only read by
key, to make an event idempotent by its business id and to find what a refund refers to.

Identifiers are ASCII and compared byte by byte on MariaDB (ascii_bin): narrow rows and
cheap GROUP BY, where utf8mb4_unicode_ci would weigh every character.
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

# UUIDs and other machine identifiers; a register id is typed by people: utf8mb4_bin.
Id = String(36).with_variant(mysql.VARCHAR(36, charset="ascii", collation="ascii_bin"), "mysql")
Label = String(36).with_variant(mysql.VARCHAR(36, charset="utf8mb4", collation="utf8mb4_bin"), "mysql")
Currency = String(3).with_variant(mysql.VARCHAR(3, charset="ascii", collation="ascii_bin"), "mysql")

# Microseconds on MariaDB too (a plain DATETIME would drop them): stock levels keep
# the newest event's value, and two movements often fall within one second.
Moment = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")


def _money(name: str) -> Column:
    return Column(name, BigInteger, nullable=False, default=0, server_default="0")


def _count(name: str) -> Column:
    return Column(name, BigInteger, nullable=False, default=0, server_default="0")


def _currency() -> Column:
    return Column("currency", Currency, nullable=False, default="", server_default="")


def _sales_measures() -> list[Column]:
    """What the day, hour and cashier tables sum. gross = charged, tax included, after
    discounts (net = gross - tax, worked out when read). Refunds are counted on the day
    they are given."""
    return [
        _currency(),
        _count("sales_count"),
        _count("items_sold"),
        _money("gross_minor"),
        _money("discount_minor"),
        _money("tax_minor"),
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
        _currency(),
        _count("qty"),
        _money("gross_minor"),
        _money("discount_minor"),
        _money("tax_minor"),
        _money("cost_minor"),
        _count("refund_qty"),
        _money("refund_minor"),
        _money("refund_tax_minor"),
        _money("refund_cost_minor"),
    ]


daily_sales = Table(
    "daily_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    *_sales_measures(),
    _count("split_count"),  # sales paid with more than one tender
    _count("void_count"),
    Index("ix_daily_sales_day", "day"),
)

hourly_sales = Table(
    "hourly_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("hour", SmallInteger, primary_key=True, autoincrement=False),
    *_sales_measures(),
)

# Per outlet, product and day. Names are the products replica's (a product the
# catalog never announced gets a replica row from the sale's line).
item_sales = Table(
    "item_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", Id, primary_key=True),
    Column("category_id", Id, nullable=False, default="", server_default=""),
    *_line_measures(),
    Index("ix_item_sales_day", "day"),
)

# Per product over every outlet, per block of days: level L covers 4**L days from
# `start`, blocks aligned on 1970-01-01 (see pos_reports.blocks).
product_sales = Table(
    "product_sales",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("start", Date, primary_key=True),
    Column("currency", Currency, primary_key=True),
    Column("product_id", Id, primary_key=True),
    Column("category_id", Id, nullable=False, default="", server_default=""),
    *[c for c in _line_measures() if c.name != "currency"],
)

category_sales = Table(
    "category_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("category_id", Id, primary_key=True),  # "" when the product has none
    *_line_measures(),
)

cashier_sales = Table(
    "cashier_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("cashier_id", Id, primary_key=True),
    Column("register_id", Label, primary_key=True),  # "" when the event does not say
    *_sales_measures(),
    _count("void_count"),
)

tender_sales = Table(
    "tender_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16).with_variant(mysql.VARCHAR(16, charset="ascii", collation="ascii_bin"), "mysql"), primary_key=True),
    _currency(),
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

# Tenders per currency handed over (ADR 0072): each tender of a completed sale under the
# currency it was paid in (tender_currency; the sale's own for cash and card, the foreign
# one for foreign cash; "" for a foreign-cash tender of an event older than the field),
# what was handed over in it (taken_minor, minor units of tender_currency), what it paid
# of the sale and the change given for it (amount_minor, change_minor: the sale's currency).
tender_currency_sales = Table(
    "tender_currency_sales",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16).with_variant(mysql.VARCHAR(16, charset="ascii", collation="ascii_bin"), "mysql"), primary_key=True),
    Column("tender_currency", Currency, primary_key=True),
    _currency(),
    _count("count"),
    _money("taken_minor"),
    _money("amount_minor"),
    _money("change_minor"),
    Index("ix_tender_currency_sales_day", "day"),
)

# Current stock per outlet and product, from the stock events' on_hand_after (the newest
# event wins, whatever order they arrive in), and the reorder point LowStockDetected told.
# low: at or below the reorder point. sold_window: sold (net of refunds) over the
# velocity window of the last refresh (see snapshots), for days of cover.
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("product_id", Id, primary_key=True),
    Column("on_hand", BigInteger, nullable=False, default=0, server_default="0"),
    Column("on_hand_at", Moment, nullable=True),
    Column("reorder_point", BigInteger, nullable=True),
    Column("reorder_point_at", Moment, nullable=True),
    Column("low", Boolean, nullable=False, default=False, server_default="0"),
    Column("sold_window", BigInteger, nullable=False, default=0, server_default="0"),
    Index("ix_stock_levels_product", "product_id"),
    Index("ix_stock_levels_low", "low", "outlet_id"),
)

# Stock value at cost per outlet (and cost currency), kept as levels and costs change:
# what the valuation report reads instead of every stock level.
stock_value = Table(
    "stock_value",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("currency", Currency, primary_key=True),  # the product's; "" while unknown
    _count("products_in_stock"),
    _count("units"),
    _money("value_minor"),
    _count("negative_products"),
    _count("uncosted_products"),
)

# When derived figures were last worked out (the sales velocity behind days of cover).
snapshots = Table(
    "snapshots",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("window_from", Date, nullable=True),
    Column("window_to", Date, nullable=True),
    Column("computed_at", Moment, nullable=False),
)

# One row per completed sale: its buckets and, per line, the cost at the time of sale
# (JSON), so a refund is costed and categorised like the sale it refunds.
sale_facts = Table(
    "sale_facts",
    metadata,
    Column("sale_id", Id, primary_key=True),
    Column("outlet_id", Id, nullable=False),
    Column("currency", Currency, nullable=False),
    Column("cashier_id", Id, nullable=False),
    Column("register_id", Label, nullable=False, default=""),
    Column("day", Date, nullable=False),
    Column("hour", SmallInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("lines", LongText, nullable=False),
)

refund_facts = Table(
    "refund_facts",
    metadata,
    Column("refund_id", Id, primary_key=True),
    Column("sale_id", Id, nullable=False),
    Column("outlet_id", Id, nullable=False),
    Column("day", Date, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
)

# Shift (Z) summaries as ShiftClosed tells them; day = local day of the close.
shifts = Table(
    "shifts",
    metadata,
    Column("shift_id", Id, primary_key=True),
    Column("outlet_id", Id, nullable=False),
    Column("register_id", Label, nullable=False),
    Column("cashier_id", Id, nullable=False),
    Column("currency", Currency, nullable=False),
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

# The drawer per currency at a shift's close (ShiftClosed's cash_by_currency, ADR 0063 /
# 0072): the outlet's own currency (own) and each foreign one, in minor units of
# `currency`; counted and over/short are null for a currency that was not counted.
shift_cash = Table(
    "shift_cash",
    metadata,
    Column("shift_id", Id, primary_key=True),
    Column("currency", Currency, primary_key=True),
    Column("own", Boolean, nullable=False),
    Column("opening_float_minor", BigInteger, nullable=False),
    Column("sales_minor", BigInteger, nullable=False),
    Column("refunds_minor", BigInteger, nullable=False),
    Column("in_minor", BigInteger, nullable=False),
    Column("out_minor", BigInteger, nullable=False),
    Column("change_given_minor", BigInteger, nullable=False),
    Column("expected_minor", BigInteger, nullable=False),
    Column("counted_minor", BigInteger, nullable=True),
    Column("over_short_minor", BigInteger, nullable=True),
)

# Replicas of other services' data: names, currencies, timezones and cost prices.
outlets = Table(
    "outlets",
    metadata,
    Column("outlet_id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", Currency, nullable=False),
    Column("timezone", String(64), nullable=False, default="UTC", server_default="UTC"),
)

products = Table(
    "products",
    metadata,
    Column("product_id", Id, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("cost_minor", BigInteger, nullable=False, default=0, server_default="0"),
    Column("category_id", Id, nullable=True),
    Column("price_minor", BigInteger, nullable=False, default=0, server_default="0"),
    _currency(),
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
)

categories = Table(
    "categories",
    metadata,
    Column("category_id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
)

# Registers (RegisterChanged): the name a report shows for a register id (issue 17).
registers = Table(
    "registers",
    metadata,
    Column("register_id", Label, primary_key=True),
    Column("outlet_id", Id, nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
)

# Every table the rebuild empties (the replicas too: history rebuilds them).
READ_MODELS = (
    daily_sales,
    hourly_sales,
    item_sales,
    product_sales,
    category_sales,
    cashier_sales,
    tender_sales,
    tender_currency_sales,
    stock_levels,
    stock_value,
    snapshots,
    sale_facts,
    refund_facts,
    shifts,
    shift_cash,
    outlets,
    registers,
    products,
    categories,
    users,
)

add_messaging_tables(metadata, consumer=True)
