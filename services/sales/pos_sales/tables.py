from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, String, Table, text

from pos_platform.messaging_tables import LongText, Timestamp, add_messaging_tables
from pos_platform.outlets import outlets_table

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
    # The product's cost (ProductData.cost_minor), stamped on each sale line and carried
    # by SaleCompleted; never shown to a till. NULL: a row kept before the cost was,
    # until the product's next announcement.
    Column("cost_minor", BigInteger, nullable=True),
)

# Per-outlet shelf prices from catalog's OutletPriceChanged: a row with a price replaces
# the product's price at that outlet; price None means "back to the product's price" (the
# row stays, so an older event arriving late cannot bring the old outlet price back).
outlet_prices = Table(
    "outlet_prices",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("outlet_id", String(36), primary_key=True),
    Column("price_minor", BigInteger, nullable=True),
    # The shelf price's currency (the outlet's; NULL: a row kept before it was carried,
    # in the product's currency).
    Column("currency", String(3), nullable=True),
    Column("source_event_at", DateTime, nullable=False),
)

sales = Table(
    "sales",
    metadata,
    Column("id", String(36), primary_key=True),  # chosen by the till: the idempotency key
    Column("outlet_id", String(36), nullable=False),
    Column("register_id", String(36), nullable=True),
    Column("shift_id", String(36), nullable=True),
    Column("cashier_id", String(36), nullable=False),
    Column("approved_by", String(36), nullable=True),
    Column("request_hash", String(64), nullable=False),
    # PENDING -> COMPLETED | FAILED; VOIDED (a cart abandoned before payment)
    Column("status", String(16), nullable=False),
    # pending -> fulfilled (inventory deducted the stock); pending -> exception -> fulfilled
    # when lines named products inventory did not know yet (parked on its exception list
    # until their ProductCreated arrives); none for a voided cart
    Column("fulfilment", String(16), nullable=False, default="pending"),
    Column("oversold", Boolean, nullable=False, default=False),
    # Made offline at the till and synced later: completed_at is when it was sold,
    # created_at when it arrived.
    Column("offline", Boolean, nullable=False, default=False, server_default=text("0")),
    Column("receipt_number", String(32), nullable=True),
    # 0 for every receipt number issued since migration 0007 (unique per outlet with the
    # number); n > 0 marks the n-th repeat of a number issued before it, when registers
    # whose ids shared their first 8 characters printed the same numbers.
    Column("receipt_duplicate", Integer, nullable=False, server_default=text("0")),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("discount_minor", BigInteger, nullable=False, server_default=text("0")),
    # cash rounding: total_minor + rounding_minor is what the tenders paid
    Column("rounding_minor", BigInteger, nullable=False, server_default=text("0")),
    # money given back so far by completed refunds (and spoken for by pending ones)
    Column("refunded_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("reprint_count", Integer, nullable=False, server_default=text("0")),
    # The receipt as it will be once completed (written with the PENDING row), so the
    # reconciler can complete a sale whose checkout was interrupted.
    Column("draft", LongText, nullable=True),
    # The exact answer given, replayed to a retry of the same sale id.
    Column("http_status", Integer, nullable=True),
    Column("answer", LongText, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("completed_at", Timestamp, nullable=True),
    Column("fulfilled_at", Timestamp, nullable=True),
    # Who calculated the tax (ADR 0064): builtin (the outlet's table), external (the tax
    # API), estimated (the table, because the API did not answer in time: a manager
    # lists these). The table's sales leave these to their defaults: nothing is added
    # to their INSERT. No index: the managers' list filters by outlet and date first.
    Column("tax_source", String(16), nullable=False, server_default=text("'builtin'")),
    Column("tax_estimated", Boolean, nullable=False, server_default=text("0")),
    Column("tax_reference", String(64), nullable=True),  # the API's calculation id
    Index("ix_sales_outlet_created", "outlet_id", "created_at"),
    Index("ix_sales_status_created", "status", "created_at"),
    Index("ix_sales_shift", "shift_id"),
    Index("uq_sales_outlet_receipt", "outlet_id", "receipt_number", "receipt_duplicate", unique=True),
)

sale_lines = Table(
    "sale_lines",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("category_id", String(36), nullable=True),
    Column("qty", Integer, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("gross_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("line_discount_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("cart_discount_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    # units given back by refunds (completed or in progress): never above qty
    Column("refunded_qty", Integer, nullable=False, server_default=text("0")),
    # the product's unit cost when sold (price_replica.cost_minor): SaleCompleted's
    # unit_cost_minor, never on a receipt. NULL: not known (an older sale, or a replica
    # row from before the cost was kept).
    Column("unit_cost_minor", BigInteger, nullable=True),
)

sale_tenders = Table(
    "sale_tenders",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("tendered_minor", BigInteger, nullable=False),
    # foreign_cash only (ADR 0061): the currency handed over, how much of it, the rate the
    # server stamped (units of it per unit of the outlet's currency, a decimal string), its
    # source (ecb | sandbox | manual) and date; and the change given in the outlet's currency.
    Column("currency", String(3), nullable=True),
    Column("foreign_minor", BigInteger, nullable=True),
    Column("rate", String(40), nullable=True),
    Column("rate_source", String(16), nullable=True),
    Column("rate_as_of", String(32), nullable=True),
    Column("change_minor", BigInteger, nullable=True),
)

# The tax API's answer per line and jurisdiction (ADR 0064): only for sales it taxed.
sale_tax_lines = Table(
    "sale_tax_lines",
    metadata,
    Column("sale_id", String(36), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("jurisdiction", String(80), nullable=False),
    Column("level", String(16), nullable=False),
    Column("code", String(32), nullable=False),
    Column("rate", String(16), nullable=False),  # percent as the API wrote it ("6.25")
    Column("taxable_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
)

# Identity's outlets and registers (OutletCreated, RegisterChanged): a sale, shift, parked
# cart or refund names a register of its own outlet, and receipt numbers carry the
# register's number.
known_outlets = outlets_table(metadata)

# Each outlet's time zone as identity has it (OutletCreated, OutletChanged; ADR 0072): the
# zone a scheduled tax rate's date is in. It replaces the settings' own `timezone` once
# known, so the zone is set in one place (identity's outlet). With it the outlet's
# currency (ISO 4217, never changes; NULL for a row kept before it was): the only
# currency the outlet sells in, replacing the settings' own `currency`.
outlet_zones = Table(
    "outlet_zones",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("updated_at", Timestamp, nullable=False),
)

known_registers = Table(
    "known_registers",
    metadata,
    Column("register_id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("source_event_at", Timestamp, nullable=False),
)

# Identity's users as UserChanged announced them (name, role, outlets, active; no email):
# who may be named as the cashier of a sale a till synced later (pos_sales.cashiers).
known_users = Table(
    "known_users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("outlets", LongText, nullable=False),  # a JSON list of outlet ids
    Column("active", Boolean, nullable=False),
    Column("source_event_at", Timestamp, nullable=False),
)

# Receipt numbers run in sequence per register ("" for sales rung without one), without
# gaps: the number is taken in the transaction that completes the sale.
receipt_counters = Table(
    "receipt_counters",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("register_id", String(36), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(36), primary_key=True),  # chosen by the till: the idempotency key
    Column("sale_id", String(36), nullable=False),
    Column("outlet_id", String(36), nullable=False),
    Column("register_id", String(36), nullable=True),
    Column("shift_id", String(36), nullable=True),
    Column("cashier_id", String(36), nullable=False),
    Column("approved_by", String(36), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # PENDING -> COMPLETED | FAILED
    Column("destination", String(16), nullable=False),  # original | cash
    Column("reason", String(200), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),  # goods value refunded, tax included
    Column("tax_minor", BigInteger, nullable=False),
    Column("rounding_minor", BigInteger, nullable=False),  # cash rounding of the cash part
    Column("http_status", Integer, nullable=True),
    Column("answer", LongText, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("completed_at", DateTime, nullable=True),
    Index("ix_refunds_sale", "sale_id"),
    Index("ix_refunds_status_created", "status", "created_at"),
    Index("ix_refunds_shift", "shift_id"),
)

refund_lines = Table(
    "refund_lines",
    metadata,
    Column("refund_id", String(36), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("restock", Boolean, nullable=False),
)

refund_tenders = Table(
    "refund_tenders",
    metadata,
    Column("refund_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
)

parked_carts = Table(
    "parked_carts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("register_id", String(36), nullable=True),
    Column("cashier_id", String(36), nullable=False),
    Column("note", String(200), nullable=True),
    Column("cart", LongText, nullable=False),  # the request body to post when resumed
    Column("created_at", DateTime, nullable=False),
    Index("ix_parked_outlet_created", "outlet_id", "created_at"),
)

shifts = Table(
    "shifts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("outlet_id", String(36), nullable=False),
    Column("register_id", String(36), nullable=False),
    # "<outlet>/<register>" while open, NULL once closed: the unique index allows one
    # open shift per register on MySQL and SQLite alike (both allow many NULLs).
    Column("open_slot", String(80), nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # open | closed
    Column("currency", String(3), nullable=False),
    Column("opened_by", String(36), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("opening_float_minor", BigInteger, nullable=False),
    Column("closed_by", String(36), nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("counted_cash_minor", BigInteger, nullable=True),
    Column("expected_cash_minor", BigInteger, nullable=True),
    Column("over_short_minor", BigInteger, nullable=True),
    Column("z_report", LongText, nullable=True),
    Index("ix_shifts_outlet_opened", "outlet_id", "opened_at"),
)

cash_movements = Table(
    "cash_movements",
    metadata,
    Column("id", String(36), primary_key=True),  # chosen by the till: repeating is safe
    Column("shift_id", String(36), nullable=False),
    Column("kind", String(8), nullable=False),  # in | out
    Column("amount_minor", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("cashier_id", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    # minor units of this currency: the outlet's, or one it accepts (ADR 0063); NULL only
    # for rows older than migration 0013 that it could not fill (the shift's currency)
    Column("currency", String(3), nullable=True),
    Index("ix_cash_movements_shift", "shift_id"),
)

# Cash control per foreign currency (ADR 0063): the float counted into the drawer at the
# open and the blind count at the close, in minor units of `currency`. The outlet's own
# currency stays on the shift row (opening_float_minor, counted_cash_minor).
shift_foreign_cash = Table(
    "shift_foreign_cash",
    metadata,
    Column("shift_id", String(36), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("opening_float_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("counted_minor", BigInteger, nullable=True),
)

# Per-outlet pricing and receipt settings (a JSON document; defaults from the service's
# settings until a manager saves some).
outlet_settings = Table(
    "outlet_settings",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("body", LongText, nullable=False),
    Column("updated_by", String(36), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# Scheduled tax rates (ADR 0066): a tax class's rate from the outlet's local midnight of
# `effective_from` on. The settings document's `tax_rates_bp` is the rate with no date;
# the latest entry that has started overrides it. Read with the settings (one statement).
outlet_tax_rates = Table(
    "outlet_tax_rates",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("tax_class", String(32), primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("rate_bp", Integer, nullable=False),
    Column("set_by", String(36), nullable=False),
    Column("set_by_name", String(200), nullable=False),
    Column("set_at", Timestamp, nullable=False),
)

# Manager approval tokens (PIN approvals from identity) already used: each approves one
# action (ADR 0040); the till's retry of that same action may present it again.
used_approvals = Table(
    "used_approvals",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("action", String(32), nullable=False),
    Column("used_for", String(36), nullable=False),  # the sale, refund or void it approved
    Column("approver_id", String(36), nullable=False),
    Column("used_at", DateTime, nullable=False),
)

add_messaging_tables(metadata, consumer=True)

# What an offline sale's sync found different from what the till knew (a price changed, a
# product archived, stock short, a shift closed, past the outlet's offline limits, a
# receipt number printed twice): the sale is recorded all the same; a manager sees the
# list and notes what was done.
sync_exceptions = Table(
    "sync_exceptions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sale_id", String(36), nullable=False),
    Column("outlet_id", String(36), nullable=False),
    Column("receipt_number", String(32), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("resolved_at", Timestamp, nullable=True),
    Column("resolved_by", String(36), nullable=True),
    Column("note", String(500), nullable=True),
    # The resolving manager's name as their token gave it (users live in identity).
    Column("resolved_by_name", String(200), nullable=True),
    # What was found in figures: a JSON list, one object per finding (see offline.py);
    # NULL for exceptions recorded before migration 0009 (their detail says it in words).
    Column("facts", LongText, nullable=True),
    Index("ix_sync_exceptions_outlet_open", "outlet_id", "resolved_at", "id"),
    Index("uq_sync_exceptions_sale_kind", "sale_id", "kind", unique=True),
)
