from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, text

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
    # pending -> captured | declined; pending -> unsent (the card processor could not be
    # reached: nothing was sent, nothing charged) -> pending again on a repeat of the
    # capture request, or cancelled by reconciliation; cancelled (never started: a
    # reconciler's tombstone); captured -> refunded once refunded_minor reaches amount_minor
    Column("status", String(16), nullable=False),
    Column("refunded_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("decline_code", String(64), nullable=True),
    Column("detail", String(255), nullable=True),
    # Requests talking to the card processor for this payment right now (a copy of the
    # capture, a reconcile). `unsent` may only be concluded by the one and only such
    # request: another one's attempt may be on its way to the processor. A process that
    # dies mid-call leaves it counted, which only costs that payment the fast answer.
    Column("drives_in_flight", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_payments_outlet_created", "outlet_id", "created_at"),
    Index("ix_payments_status_updated", "status", "updated_at"),
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
    # cash: captured (voided if the payment is declined). card: pending -> captured |
    # declined; captured -> reversed (another tender of the payment was declined, so this
    # one was given back)
    Column("status", String(16), nullable=False, server_default=text("'captured'")),
    Column("provider", String(16), nullable=True),
    Column("card_token", String(128), nullable=True),
    Column("provider_ref", String(128), nullable=True),
    Column("decline_code", String(64), nullable=True),
    Column("refunded_minor", BigInteger, nullable=False, server_default=text("0")),
    # A charge of this card may have reached the processor without an answer (a read
    # timeout, a dropped connection, a 5xx): from then on a refused connection does not
    # mean "nothing was charged", and the payment can no longer become unsent.
    Column("maybe_sent", Boolean, nullable=False, server_default=text("0")),
    # foreign_cash only (ADR 0061): the currency handed over, how much of it, the rate the
    # server stamped (units of it per unit of the outlet's currency, a decimal string), its
    # source (ecb | sandbox | manual) and date; (change_minor is in the outlet's currency).
    Column("currency", String(3), nullable=True),
    Column("foreign_minor", BigInteger, nullable=True),
    Column("rate", String(40), nullable=True),
    Column("rate_source", String(16), nullable=True),
    Column("rate_as_of", String(32), nullable=True),
)

payment_refunds = Table(
    "payment_refunds",
    metadata,
    Column("id", String(36), primary_key=True),  # the refund id sales chose
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=False),
    Column("sale_id", String(36), nullable=False),
    Column("outlet_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending -> refunded | failed
    Column("detail", String(255), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_payment_refunds_payment", "payment_id"),
)

payment_refund_tenders = Table(
    "payment_refund_tenders",
    metadata,
    Column("refund_id", String(36), ForeignKey("payment_refunds.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    # card: the payment tender (seq) whose charge is refunded
    Column("payment_tender_seq", Integer, nullable=True),
    Column("status", String(16), nullable=False),  # cash: refunded; card: pending -> refunded | failed
    Column("provider_ref", String(128), nullable=True),
)

# --- exchange rates (ADR 0060, docs/currency-tax.md) ---------------------------------------

# The rates cache: each currency's latest feed rate against the euro (the ECB's base),
# as the feed wrote it (a decimal string, never a float). Replaced only by a sheet of
# the same or a later reference date.
exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("currency", String(3), primary_key=True),
    Column("per_eur", String(32), nullable=False),  # units of `currency` per euro, e.g. "1.0812"
    Column("reference_date", Date, nullable=False),  # the feed's date of the rate
    Column("source", String(16), nullable=False),  # ecb | sandbox
    Column("fetched_at", DateTime, nullable=False),
)

# The feed's health: when it was last asked and answered, and the last failure.
rate_feed_status = Table(
    "rate_feed_status",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("last_attempt_at", DateTime, nullable=False),
    Column("last_success_at", DateTime, nullable=True),
    Column("last_reference_date", Date, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("last_error_at", DateTime, nullable=True),
    Column("failures_in_a_row", Integer, nullable=False, server_default=text("0")),
)

# Manual rates, append-only: every rate a manager set, by whom, when, why and until
# when. A row is only ever updated once, to end it (a fresh feed rate arrived).
manual_rates = Table(
    "manual_rates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("base", String(3), nullable=False),
    Column("quote", String(3), nullable=False),
    Column("rate", String(32), nullable=False),  # units of quote per unit of base
    Column("reason", String(200), nullable=False),
    Column("set_by", String(36), nullable=False),  # the user id
    Column("set_by_name", String(200), nullable=False),
    Column("set_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("end_reason", String(200), nullable=True),
    Index("ix_manual_rates_pair_set", "base", "quote", "set_at"),
    Index("ix_manual_rates_open", "ended_at", "expires_at"),
)

add_messaging_tables(metadata)
