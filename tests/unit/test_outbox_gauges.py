"""The outbox backlog on /metrics (what deploy/observability's "stuck relay" alert reads):
how many events wait and how old the oldest is, read when Prometheus scrapes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, insert

from pos_platform.app import create_service_app
from pos_platform.bus import InProcessBus
from pos_platform.db import Database, utcnow
from pos_platform.messaging_tables import add_messaging_tables
from pos_platform.relay import refresh_outbox_gauges
from pos_platform.settings import ServiceSettings


def database(tmp_path: Path, name: str) -> Database:
    metadata = MetaData()
    add_messaging_tables(metadata)
    db = Database(f"sqlite:///{tmp_path}/{name}.db", metadata, name)
    metadata.create_all(db.engine)
    return db


def gauges(service: str) -> tuple[float | None, float | None]:
    labels = {"service": service}
    return REGISTRY.get_sample_value("pos_outbox_unsent", labels), REGISTRY.get_sample_value(
        "pos_outbox_oldest_unsent_seconds", labels
    )


def test_the_gauges_count_unsent_events_and_age_the_oldest(tmp_path: Path) -> None:
    db = database(tmp_path, "backlogged")
    refresh_outbox_gauges(db)
    assert gauges("backlogged") == (0, 0)
    # Two events the relay could not send (the broker down), one it sent long ago.
    with db.engine.begin() as conn:
        for event_id, age, sent in (("e-1", 600, None), ("e-2", 5, None), ("e-3", 900, utcnow())):
            conn.execute(
                insert(db.outbox).values(
                    event_id=event_id,
                    routing_key="backlogged.Thing",
                    body="{}",
                    created_at=utcnow() - timedelta(seconds=age),
                    sent_at=sent,
                )
            )
    refresh_outbox_gauges(db)
    unsent, oldest = gauges("backlogged")
    assert unsent == 2
    assert oldest is not None and 600 <= oldest < 660


def test_metrics_carry_the_outbox_gauges(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    db = database(tmp_path, "scraped")
    settings = ServiceSettings(jwt_public_key_file=str(keys[1]))
    app = create_service_app(name="scraped", settings=settings, db=db, routers=[], bus=InProcessBus())
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert 'pos_outbox_unsent{service="scraped"} 0.0' in text
    assert 'pos_outbox_oldest_unsent_seconds{service="scraped"} 0.0' in text
