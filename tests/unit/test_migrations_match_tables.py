"""Each service's Alembic migrations build exactly the tables its code declares: after
`upgrade head` on a fresh database, autogenerate finds nothing to add, drop or alter.
(A table added to tables.py without a migration would otherwise only fail at run time,
on a server, with "no such table".) One head per service, too: two engineers adding
migrations side by side must chain them."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from pos_platform.migrate import alembic_config, upgrade

SERVICES = ("identity", "catalog", "inventory", "sales", "payments", "reports")


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_have_one_head_and_match_the_declared_tables(service: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / service}.db"
    heads = ScriptDirectory.from_config(alembic_config(service, url)).get_heads()
    assert len(heads) == 1, f"{service} has several migration heads {heads}: chain the newest migrations"
    upgrade(service, url)
    metadata = importlib.import_module(f"pos_{service}.tables").metadata
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            # Columns, tables and indexes; not types: SQLite reflects e.g. BINARY(16) as
            # NUMERIC(16), so a type comparison here would only report SQLite's affinity.
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == [], f"{service}: tables.py and the migrations differ: {differences}"
