"""A service stops even when one of its background jobs will not: the job is named in
the log and the shutdown goes on (a shutdown that hung kept CI waiting until its
timeout, at the end of a TestClient, twice on 2026-12-07)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, MetaData

from pos_platform import app as platform_app
from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import InProcessBus
from pos_platform.db import Database
from pos_platform.messaging_tables import add_messaging_tables
from pos_platform.settings import ServiceSettings


async def stubborn(_ctx: ServiceContext) -> None:
    """A background job slow to stop: it swallows its cancellation and goes on for a few
    seconds (a job that never stops is left to the event loop's own end)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            continue


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_job_that_will_not_stop_does_not_hang_the_shutdown(
    tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    public = keys[1]
    monkeypatch.setattr(platform_app, "SHUTDOWN_STEP_SECONDS", 0.5)
    metadata = MetaData()
    add_messaging_tables(metadata)
    db = Database(f"sqlite:///{tmp_path}/things.db", metadata, "things")
    metadata.create_all(db.engine)
    app = create_service_app(
        name="things",
        settings=ServiceSettings(jwt_public_key_file=str(public)),
        db=db,
        routers=[],
        bus=InProcessBus(),
        background_jobs=[stubborn],
    )
    collect = Collect()
    platform_app.log.addHandler(collect)  # whatever the service's logging set-up did
    started = time.monotonic()
    try:
        with TestClient(app):
            pass
    finally:
        platform_app.log.removeHandler(collect)
    assert time.monotonic() - started < 6  # the lifespan went on after 0.5 s; the event loop's own end waits out the job
    assert any("did not stop" in m and "things-stubborn" in m for m in collect.messages), collect.messages


def test_a_relay_stopped_while_marking_leaves_the_connection_to_its_own_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop that lands while the relay's thread marks a batch sent: the claim is never
    given back from the event loop's thread while that thread still uses the connection
    (SQLite's driver crashed the process in CI when two threads used one connection),
    and close() waits for the thread before the engine is disposed."""
    import threading

    from pos_contracts.events import UserChanged
    from pos_platform.relay import OutboxRelay

    metadata = MetaData()
    add_messaging_tables(metadata)
    db = Database(f"sqlite:///{tmp_path}/relay.db", metadata, "identity")  # its events route somewhere
    metadata.create_all(db.engine)
    with db.transaction() as uow:
        uow.publish(UserChanged(user_id="u1", email="u1@example.com", name="U", role="cashier", outlets=[], active=True))
    relay = OutboxRelay(db, InProcessBus())
    marking = threading.Event()
    uses: list[tuple[str, str, bool]] = []  # (what, thread, while marking)
    real_mark, real_abandon = relay._mark_sent, OutboxRelay._abandon

    def slow_mark(connection: Connection, ids: list[int]) -> None:
        marking.set()
        uses.append(("mark", threading.current_thread().name, True))
        time.sleep(0.5)
        real_mark(connection, ids)
        marking.clear()

    def abandon(connection: Connection) -> None:
        uses.append(("abandon", threading.current_thread().name, marking.is_set()))
        real_abandon(connection)

    monkeypatch.setattr(relay, "_mark_sent", slow_mark)
    monkeypatch.setattr(relay, "_abandon", abandon)

    async def stop_mid_mark() -> None:
        task = asyncio.create_task(relay.drain_once())
        async with asyncio.timeout(10):
            while not marking.is_set():
                assert not task.done(), task.exception()
                await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        relay.close()

    asyncio.run(stop_mid_mark())
    assert uses[0][0] == "mark"
    assert all(thread.startswith("relay-identity") and not during for what, thread, during in uses if what == "abandon"), uses
    assert not marking.is_set()  # close() waited for the mark to end
    db.dispose()
