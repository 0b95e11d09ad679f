"""NaN and Infinity in a JSON body (Python's parser takes them; JSON does not have them)
are answered 422 with the offending input shown as text, by every service (the platform's
one validation-error handler), including identity's unauthenticated log-in. They were a
500: the error echoed a value that cannot be written back as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import MetaData

from pos_identity.app import create_app as identity_app
from pos_identity.config import Settings as IdentitySettings
from pos_platform.app import create_service_app
from pos_platform.bus import InProcessBus
from pos_platform.db import Database
from pos_platform.messaging_tables import add_messaging_tables
from pos_platform.settings import ServiceSettings

BODIES = [
    b'{"qty": NaN}',
    b'{"qty": Infinity}',
    b'{"qty": -Infinity}',
    b'{"qty": [1, NaN, {"deep": Infinity}]}',
]


class Line(BaseModel):
    qty: int


@pytest.mark.parametrize("body", BODIES)
def test_a_service_answers_422_with_the_input_as_text(body: bytes, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    router = APIRouter()

    @router.post("/api/things/lines")
    def add(line: Line) -> dict[str, int]:
        return {"qty": line.qty}

    metadata = MetaData()
    add_messaging_tables(metadata)
    db = Database(f"sqlite:///{tmp_path}/things.db", metadata, "things")
    metadata.create_all(db.engine)
    app = create_service_app(
        name="things", settings=ServiceSettings(jwt_public_key_file=str(keys[1])), db=db, routers=[router], bus=InProcessBus()
    )
    with TestClient(app) as client:
        response = client.post("/api/things/lines", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "qty"]
    assert any(word in str(error["input"]) for word in ("NaN", "Infinity"))


def test_the_unauthenticated_log_in_answers_422_not_500(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    settings = IdentitySettings(
        database_url=f"sqlite:///{tmp_path}/identity.db",
        jwt_public_key_file=str(keys[1]),
        jwt_private_key_file=str(keys[0]),
        admin_credentials_file=str(tmp_path / "admin.txt"),
    )
    with TestClient(identity_app(settings, bus=InProcessBus(), migrate_on_start=True)) as client:
        for body in (b'{"email": "x@example.com", "password": Infinity}', b'{"email": NaN, "password": NaN}'):
            response = client.post("/api/identity/login", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 422, response.text
            assert "Input should be a valid string" in response.text
