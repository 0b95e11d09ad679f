"""Tables of the daily low-stock e-mail digest (issue 17, ADR 0069), in inventory's
metadata: each outlet's settings, one row per outlet and local day claimed by the
replica that sends it, and the replicas of identity's data the digest needs (the
outlet's time zone, the managers' e-mail addresses)."""

from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, String, Table, Text

from pos_inventory.tables import metadata

# One row per outlet that has ever saved digest settings.
digest_settings = Table(
    "digest_settings",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=False),
    # Local time of day to send, "HH:MM" in the outlet's time zone.
    Column("send_at", String(5), nullable=False),
    # JSON list of addresses; [] = the outlet's managers (from UserChanged).
    Column("recipients", Text, nullable=False),
    # Nothing at or under its reorder point: send a one-line "all stocked" mail (True)
    # or nothing at all (False, the default).
    Column("send_when_all_stocked", Boolean, nullable=False, default=False),
    Column("updated_by", String(36), nullable=False),
    # A digest is due only at a send moment after this (saving at 10:00 a time of 08:00
    # does not send one at once: the first is tomorrow's).
    Column("updated_at", DateTime, nullable=False),
)

# One row per outlet and local day: the unique key is what makes the digest go once
# whatever the number of inventory replicas (the first INSERT wins; a stale claim is
# taken over only by a conditional UPDATE, which one replica wins).
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("local_date", Date, primary_key=True),
    # sending (claimed; lease_until) -> sent | nothing (nothing to report, no mail) |
    # failed (mail server down; tried again at next_try_at) | refused (5xx: not retried)
    Column("status", String(16), nullable=False),
    Column("claimed_by", String(64), nullable=False),
    Column("lease_until", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_try_at", DateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("recipients", Text, nullable=True),  # JSON list: to whom it went
    Column("lines", Integer, nullable=True),  # products listed
    Column("sent_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_digest_runs_status", "status", "next_try_at"),
)

# Each outlet's time zone (OutletCreated.timezone; UTC until known).
outlet_zones = Table(
    "outlet_zones",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("timezone", String(64), nullable=False),
)

# Identity's users as UserChanged announces them: the default recipients of an outlet's
# digest are its active managers' addresses.
staff = Table(
    "staff",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("outlets", Text, nullable=False),  # JSON list of outlet ids
    Column("active", Boolean, nullable=False),
)
