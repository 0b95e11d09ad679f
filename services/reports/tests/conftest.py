"""The reports service on SQLite with an in-process bus; events are fed straight to its
consumer, then read back through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_platform.bus import InProcessBus
from pos_platform.consumer import EventConsumer
from pos_platform.testing import AuthHeaders, auth_headers
from pos_reports.app import create_app
from pos_reports.config import Settings
from services.reports.tests.builders import envelope

A, B = "outlet-a", "outlet-b"

Auth = AuthHeaders


def make_client(database_url: str, public_key: Path) -> TestClient:
    # Nothing listens on port 1: a report holding several currencies gets no chain total.
    settings = Settings(database_url=database_url, jwt_public_key_file=str(public_key), payments_url="http://127.0.0.1:1")
    return TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True))


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    with make_client(f"sqlite:///{tmp_path}/x.db", keys[1]) as c:
        yield c


@pytest.fixture
def consumer(client: TestClient) -> EventConsumer:
    consumer = client.app.state.ctx.consumer
    assert consumer is not None
    return consumer


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="manager", outlets=[A])


@pytest.fixture
def feed(consumer: EventConsumer) -> Callable[..., bool]:
    def send(event: Any, **payload_extra: Any) -> bool:
        return consumer.handle(envelope(event, **payload_extra))

    return send


@pytest.fixture
def get(client: TestClient, auth: Auth) -> Callable[..., Any]:
    def fetch(path: str, role: str = "manager", outlets: list[str] | None = None, **params: Any) -> Any:
        r = client.get(f"/api/reports/{path}", params=params, headers=auth(role, outlets))
        assert r.status_code == 200, r.text
        return r.json()

    return fetch
