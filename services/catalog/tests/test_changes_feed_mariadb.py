"""The replica feed on MariaDB (READ COMMITTED, writers really concurrent): a change
numbered but not yet committed holds back every later number, so a reader never passes
it; and tills syncing while several writers change the catalogue end with exactly the
server's state (ADR 0015)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from pos_catalog import changes
from pos_catalog.app import create_app
from pos_catalog.config import Settings
from pos_catalog.tables import metadata, products
from pos_platform.bus import InProcessBus
from pos_platform.db import Database, utcnow
from pos_platform.migrate import upgrade
from pos_platform.testing import mint_token
from tests.databases import scratch_mariadb

from .test_changes_feed import A, Replica, server_state, small_catalogue

pytestmark = pytest.mark.integration


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    with scratch_mariadb(prefix="pos_catalog_test") as (url,):
        yield url


def _product(db: Database, sku: str) -> str:
    product_id = str(uuid.uuid4())
    now = utcnow()
    with db.transaction() as uow:
        uow.session.execute(
            insert(products).values(
                id=product_id,
                sku=sku,
                name=sku,
                description="",
                price_minor=100,
                cost_minor=0,
                currency="EUR",
                tax_class="standard",
                unit="each",
                active=True,
                created_at=now,
                updated_at=now,
                barcode_list="",
            )
        )
        changes.record(uow.session, products=[product_id])
    return product_id


def test_a_number_taken_but_not_committed_holds_back_the_later_ones(mariadb_url: str) -> None:
    upgrade("catalog", mariadb_url)
    db = Database(mariadb_url, metadata, "catalog", pool_size=4)
    try:
        first, second = _product(db, "FIRST"), _product(db, "SECOND")
        with db.transaction() as uow:
            start = changes.horizon(uow.session)
        numbered, release = threading.Event(), threading.Event()
        order: list[str] = []

        def slow_writer() -> None:  # takes its number, then commits late
            with db.transaction() as uow:
                changes.record(uow.session, products=[first])
                numbered.set()
                release.wait(10)
            order.append("slow committed")

        def fast_writer() -> None:  # starts after the slow one has its number
            with db.transaction() as uow:
                changes.record(uow.session, products=[second])
            order.append("fast committed")

        slow = threading.Thread(target=slow_writer)
        slow.start()
        assert numbered.wait(10)
        fast = threading.Thread(target=fast_writer)
        fast.start()
        time.sleep(0.5)
        with db.transaction() as uow:
            page = changes.read_page(uow.session, A, start, 100)
        # Neither is visible: the fast writer waits for the counter, not past it.
        assert page.products == [] and page.last_seq == start and order == []
        release.set()
        slow.join(10)
        fast.join(10)
        assert order == ["slow committed", "fast committed"]
        with db.transaction() as uow:
            page = changes.read_page(uow.session, A, start, 100)
        assert [p["id"] for p in page.products] == [first, second]
        assert page.last_seq == start + 2 and not page.more
    finally:
        db.dispose()


def test_tills_syncing_during_concurrent_writes_end_with_the_servers_state(mariadb_url: str, keys: tuple[Path, Path]) -> None:
    private, public = keys

    def auth(role: str = "manager", outlets: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(private, role, [A, 'outlet-b'] if outlets is None else outlets)}"}

    settings = Settings(database_url=mariadb_url, jwt_public_key_file=str(public))
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as client:
        made = small_catalogue(client, auth, 40)
        failures: list[str] = []

        def writer(n: int) -> None:
            for i in range(40):
                product = made[(n * 11 + i) % len(made)]["id"]
                if i % 5 == 4:
                    response = client.put(
                        f"/api/catalog/products/{product}/prices/{A}", json={"price_minor": n * 100 + i}, headers=auth()
                    )
                elif i % 7 == 6:
                    response = client.delete(f"/api/catalog/products/{product}/prices/{A}", headers=auth())
                else:
                    response = client.put(
                        f"/api/catalog/products/{product}",
                        json={"price_minor": n * 1000 + i, "name": f"w{n} {i}"},
                        headers=auth(),
                    )
                if response.status_code not in (200, 204):
                    failures.append(f"{response.status_code} {response.text}")

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        replica = Replica(A)
        headers = auth("cashier", [A])
        while any(t.is_alive() for t in threads):
            replica.sync(client, headers, limit=7)
        for t in threads:
            t.join()
        replica.sync(client, headers, limit=7)
        assert failures == []
        assert (replica.products, replica.categories) == server_state(client, auth(), A)
