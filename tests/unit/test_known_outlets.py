"""A service refuses an outlet id its replica of identity's outlets does not hold. It
waits a moment for an outlet made a moment ago (its OutletCreated may be on its way),
but not for an id that cannot be an outlet's: identity makes them as UUIDs."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from pos_platform.db import Database, utcnow
from pos_platform.outlets import UnknownOutlet, outlets_table, require_outlet


@pytest.fixture
def db(tmp_path: Path) -> Database:
    metadata = MetaData()
    table = outlets_table(metadata)
    database = Database(f"sqlite:///{tmp_path / 'outlets.db'}", metadata, "test")
    metadata.create_all(database.engine)
    with database.transaction() as uow:
        uow.session.execute(table.insert().values(outlet_id="shop-1", name="Old id", currency="EUR", updated_at=utcnow()))
    return database


def test_a_known_outlet_passes_whatever_its_id(db: Database) -> None:
    require_outlet(db, None, "shop-1", wait_seconds=5)


def test_an_unknown_uuid_is_waited_for_then_refused(db: Database) -> None:
    started = time.monotonic()
    with pytest.raises(UnknownOutlet):
        require_outlet(db, None, str(uuid.uuid4()), wait_seconds=0.5)
    assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize("outlet_id", ["not-an-outlet", "0" * 36, "'; DROP TABLE known_outlets; --"])
def test_an_id_no_outlet_can_have_is_refused_at_once(db: Database, outlet_id: str) -> None:
    started = time.monotonic()
    with pytest.raises(UnknownOutlet):
        require_outlet(db, None, outlet_id, wait_seconds=5)
    assert time.monotonic() - started < 1
