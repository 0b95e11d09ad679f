"""On MariaDB: the migrations (with their triggers) apply, and replicas appending to the
audit chain at once still build one linear chain (the head row serializes them)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from pos_identity import audit
from pos_identity.tables import metadata
from pos_platform.db import Database
from pos_platform.migrate import upgrade
from tests.databases import scratch_mariadb

pytestmark = pytest.mark.integration


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    with scratch_mariadb(prefix="pos_identity_test") as (url,):
        yield url


def test_replicas_append_one_chain(mariadb_url: str) -> None:
    upgrade("identity", mariadb_url)
    replicas = [Database(mariadb_url, metadata, "identity", pool_size=4) for _ in range(2)]

    def append(n: int) -> None:
        db = replicas[n % 2]
        for i in range(20):
            with db.transaction() as uow:
                audit.record(uow, "test.concurrent", actor_id=f"worker-{n}", details={"i": i, "text": "é ü ß"})

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(append, range(8)))
        verdict = audit.verify(replicas[0])
        assert verdict.ok, str(verdict)
        assert verdict.entries == 160
        with pytest.raises(Exception, match="append-only"), replicas[0].transaction() as uow:
            uow.session.execute(text("DELETE FROM audit_log WHERE seq = 1"))
    finally:
        for db in replicas:
            db.dispose()
