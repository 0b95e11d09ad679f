from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from pos_platform.messaging_tables import add_messaging_tables

metadata = MetaData()

# Microseconds on MariaDB too: the audit chain hashes the timestamp as stored.
PreciseDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

outlets = Table(
    "outlets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("created_at", DateTime, nullable=False),
)

registers = Table(
    "registers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("outlet_id", String(36), ForeignKey("outlets.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    # The register's number in its outlet (receipt numbers carry it): given at creation,
    # never reused or changed.
    Column("number", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("outlet_id", "name", name="uq_registers_outlet_name"),
    UniqueConstraint("outlet_id", "number", name="uq_registers_outlet_number"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("outlets", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Quick switch / manager approval at a till; Argon2id like the password.
    Column("pin_hash", String(255), nullable=True),
    # Per-account lockout: consecutive failures, and until when the account is locked.
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", DateTime, nullable=True),
    Column("failed_pins", Integer, nullable=False, default=0, server_default="0"),
    Column("pin_locked_until", DateTime, nullable=True),
)

# Refresh tokens: only a SHA-256 of the secret is stored. Rotation marks the old row
# used; presenting a used or revoked token revokes its whole family (reuse detection).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("family_expires_at", DateTime, nullable=False),
    Column("used_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    Column("revoked_reason", String(32), nullable=True),
)

# Append-only, hash-chained audit log (see pos_identity.audit).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", PreciseDateTime, nullable=False),
    Column("service", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("actor_id", String(36), nullable=True),
    Column("actor_email", String(254), nullable=True),
    Column("actor_role", String(16), nullable=True),
    Column("target_type", String(32), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("outlet_id", String(36), nullable=True),
    Column("source_ip", String(64), nullable=True),
    Column("request_id", String(128), nullable=True),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_action_at", "action", "at"),
    Index("ix_audit_log_actor_at", "actor_id", "at"),
    Index("ix_audit_log_at", "at"),  # the export of a date range
)

# One row (id 1): the chain's head. Appending locks it (SELECT ... FOR UPDATE), so
# writers on any number of replicas extend one linear chain.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
)

# A consumer since other services' AuditRecorded events join the chain: dead letters too.
add_messaging_tables(metadata, consumer=True)
