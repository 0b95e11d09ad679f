"""Each service's migrations on real MariaDB build exactly what its tables.py declares,
types included (the SQLite check in tests/unit cannot compare types): the DATETIME(6)
columns, the MEDIUMTEXT bodies. Then a sale-to-the-microsecond round trip."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import datetime

import pymysql
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from pos_platform.migrate import upgrade

pytestmark = pytest.mark.integration

SERVICES = ("identity", "catalog", "inventory", "sales", "payments", "reports")


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"pos_it_migrate_{request.node.callspec.params['service']}"
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
    conn.close()


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_on_mariadb_match_the_declared_tables_types_included(service: str, database: str) -> None:
    upgrade(service, database)
    metadata = importlib.import_module(f"pos_{service}.tables").metadata
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
            precision = dict(
                connection.execute(
                    text(
                        "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), DATETIME_PRECISION FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE = 'datetime'"
                    )
                ).all()
            )
            connection.execute(
                text("INSERT INTO outbox (event_id, routing_key, body, created_at) VALUES ('e1', 'k', '{}', :at)"),
                {"at": datetime(2026, 12, 6, 23, 1, 2, 345678)},
            )
            stored = connection.scalar(text("SELECT created_at FROM outbox WHERE event_id = 'e1'"))
    finally:
        engine.dispose()
    assert differences == [], f"{service}: tables.py and the migrations differ on MariaDB: {differences}"
    assert precision["outbox.created_at"] == precision["inbox.processed_at"] == 6
    assert stored == datetime(2026, 12, 6, 23, 1, 2, 345678)
    if service == "inventory":
        assert precision["ledger.created_at"] == 6
    if service == "sales":
        assert precision["sales.created_at"] == precision["sales.completed_at"] == precision["sales.fulfilled_at"] == 6
