"""Database access: one engine per service, and a unit of work that writes business
rows and outbox events in one transaction."""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, insert, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from pos_contracts import new_envelope
from pos_platform import tracing
from pos_platform.messaging_tables import outbox_table

# The request id of the HTTP request (or event) being handled; becomes correlation_id.
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Events published inside carry this correlation id (a batch handler publishing for
    several deliveries sets each one's in turn)."""
    token = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(token)


def utcnow() -> datetime:
    """Naive UTC (what DATETIME columns store on both MySQL and SQLite)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso_utc(moment: datetime | None) -> str | None:
    """A time as the API and events carry it: UTC ISO 8601 with Z (a naive time is UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


# A pooled connection idle for longer than this is pinged before use (a server restart
# or an idle timeout may have closed it); one in steady use is not: a round trip per
# checkout was a tenth of a sale's database time.
IDLE_PING_SECONDS = 10.0


def make_engine(url: str, pool_size: int = 10, *, tls: str = "off", tls_ca: str = "") -> Engine:
    """The service's engine. MySQL/MariaDB: a pool sized to the threads that use it (a
    connection opened and closed per use cost ~18 ms of CPU with TLS), TLS explicit
    (`off`, or `verify`: required, with the server's certificate checked against `tls_ca`
    or the system's CA bundle), no reset round trip when a connection goes back to the
    pool (every unit of work ends in COMMIT or ROLLBACK already), and a ping only for a
    connection that sat idle. See docs/adr/0050-database-connections.md."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide where transactions begin (see below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock at BEGIN so concurrent writers queue instead of failing.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if tls == "verify":
        connect_args: dict[str, Any] = {"ssl_verify_cert": True, "ssl_verify_identity": True, "ssl_ca": tls_ca or None}
    elif tls == "off":
        # PyMySQL otherwise tries TLS on its own and builds a CA context per connection.
        connect_args = {"ssl_disabled": True}
    else:
        raise ValueError(f"database TLS must be 'off' or 'verify', not {tls!r}")
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max(4, pool_size // 4),
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_reset_on_return=None,
        isolation_level="READ COMMITTED",
        connect_args=connect_args,
    )

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    # No ROLLBACK on every return (reset_on_return=None): a unit of work always ends in
    # COMMIT or ROLLBACK. But a connection that comes back with its transaction still
    # open (dropped by a cancelled task, collected by the garbage collector) would keep
    # its row and metadata locks: it is rolled back here, and only then.
    @event.listens_for(engine, "begin")
    def _opened(conn: Any) -> None:
        conn.connection.info["open_transaction"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _closed(conn: Any) -> None:
        conn.connection.info["open_transaction"] = False

    @event.listens_for(engine, "reset")
    def _roll_back_if_open(dbapi_conn: Any, record: Any, _state: Any) -> None:
        if record is not None and record.info.pop("open_transaction", False):
            dbapi_conn.rollback()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < IDLE_PING_SECONDS:
            return
        try:
            dbapi_conn.ping(reconnect=False)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"idle connection is gone: {exc!r}") from exc

    return engine


def is_deadlock(exc: BaseException) -> bool:
    """MySQL/MariaDB deadlock (1213) or lock wait timeout (1205): safe to retry."""
    if isinstance(exc, DBAPIError) and exc.orig is not None and getattr(exc.orig, "args", None):
        return exc.orig.args[0] in (1213, 1205)
    return False


retry_on_deadlock = retry(
    retry=retry_if_exception(is_deadlock),
    stop=stop_after_attempt(5),
    wait=wait_random_exponential(multiplier=0.01, max=0.2),
    reraise=True,
)


class CoreSession:
    """What a unit of work calls `session`: SQLAlchemy Core on one Connection (execute,
    scalar, scalars, begin_nested for a savepoint, get_bind for the dialect), without the
    ORM Session's bookkeeping, which nothing here uses: a transaction's snapshot alone
    was 4 % of a sales process under load."""

    __slots__ = ("begin_nested", "connection", "execute", "scalar", "scalars")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.execute = connection.execute
        self.scalar = connection.scalar
        self.scalars = connection.scalars
        self.begin_nested = connection.begin_nested

    def get_bind(self) -> Connection:
        return self.connection


class UnitOfWork:
    """One transaction. Events published here land in the outbox in the same commit."""

    def __init__(self, session: CoreSession, producer: str, outbox_insert: Any) -> None:
        self.session = session
        self._producer = producer
        self._outbox_insert = outbox_insert
        self.published = 0

    def publish(self, event: Any, *, outlet_id: str | None = None) -> None:
        envelope = new_envelope(
            event,
            producer=self._producer,
            outlet_id=outlet_id,
            correlation_id=correlation_id_var.get(),
            traceparent=tracing.current_traceparent(),
        )
        self.session.execute(
            self._outbox_insert,
            {
                "event_id": envelope.event_id,
                "routing_key": envelope.routing_key,
                "body": envelope.model_dump_json(),
                "created_at": utcnow(),
            },
        )
        self.published += 1


class Database:
    """A service's database: engine, sessions, and units of work."""

    def __init__(
        self, url: str, metadata: MetaData, producer: str, pool_size: int = 10, *, tls: str = "off", tls_ca: str = ""
    ) -> None:
        self.url = url
        self.metadata = metadata
        self.producer = producer
        self.engine = make_engine(url, pool_size, tls=tls, tls_ca=tls_ca)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.outbox = outbox_table(metadata)
        # Built once: a statement made anew per event costs its cache key every time.
        self.outbox_insert = insert(self.outbox)
        self._after_publish: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_events_committed(self, callback: Callable[[], None]) -> None:
        """Called (from any thread) after a commit that wrote outbox rows."""
        with self._lock:
            self._after_publish.append(callback)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as connection:
            uow = UnitOfWork(CoreSession(connection), self.producer, self.outbox_insert)
            yield uow
        if uow.published:
            for callback in list(self._after_publish):
                callback()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(
    session: Session | CoreSession,
    table: Any,
    keys: dict[str, Any],
    *,
    increments: dict[str, int] | None = None,
    sets: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> None:
    """Insert a row, or add `increments` to / overwrite `sets` on the existing one
    (`defaults` are only written on insert; with neither, an existing row is left as
    it is). One statement, so concurrent writers never lose an update."""
    increments = increments or {}
    sets = sets or {}
    values = {**(defaults or {}), **keys, **increments, **sets}
    dialect = session.get_bind().dialect.name
    if dialect == "mysql":
        stmt = mysql.insert(table).values(**values)
        update = {c: table.c[c] + stmt.inserted[c] for c in increments}
        update.update({c: stmt.inserted[c] for c in sets})
        session.execute(stmt.on_duplicate_key_update(**update) if update else stmt.prefix_with("IGNORE"))
    else:
        lite = sqlite.insert(table).values(**values)
        update = {c: table.c[c] + lite.excluded[c] for c in increments}
        update.update({c: lite.excluded[c] for c in sets})
        if update:
            session.execute(lite.on_conflict_do_update(index_elements=list(keys), set_=update))
        else:
            session.execute(lite.on_conflict_do_nothing(index_elements=list(keys)))


def upsert_newest(
    session: Session | CoreSession, table: Any, keys: dict[str, Any], occurred: datetime, sets: dict[str, Any]
) -> None:
    """A replica row kept at the newest announcement: written with `sets` unless the row
    holds one announced later (its `source_event_at`; the row is locked while deciding,
    so two deliveries of different ages end with the newer)."""
    where = [table.c[k] == v for k, v in keys.items()]
    current = session.execute(select(table.c.source_event_at).where(*where).with_for_update()).first()
    if current is not None and current.source_event_at > occurred:
        return
    upsert(session, table, keys, sets={**sets, "source_event_at": occurred})
