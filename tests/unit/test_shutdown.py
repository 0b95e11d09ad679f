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
from sqlalchemy import MetaData

from pos_platform import app as platform_app
from pos_platform.app import ServiceContext, create_service_app
from pos_platform.bus import InProcessBus
from pos_platform.db import Database
from pos_platform.keys import ensure_keypair
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


def test_a_job_that_will_not_stop_does_not_hang_the_shutdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    ensure_keypair(str(private), str(public))
    monkeypatch.setattr(platform_app, "SHUTDOWN_STEP_SECONDS", 0.5)
    metadata = MetaData()
    add_messaging_tables(metadata)
    db = Database(f"sqlite:///{tmp_path}/things.db", metadata, "things")
    metadata.create_all(db.engine)
    app = create_service_app(
        name="things", settings=ServiceSettings(jwt_public_key_file=str(public)), db=db, routers=[], bus=InProcessBus(), background_jobs=[stubborn]
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
