"""Identity in process: real app, SQLite file, in-process bus, the real log-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_identity.app import create_app
from pos_identity.config import Settings
from pos_platform.bus import InProcessBus

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-for-tests"
PASSWORD = "a-long-enough-password"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path}/identity.db",
            "jwt_private_key_file": str(tmp_path / "keys" / "jwt-private.pem"),
            "jwt_public_key_file": str(tmp_path / "keys" / "jwt-public.pem"),
            "admin_email": ADMIN_EMAIL,
            "admin_password": ADMIN_PASSWORD,
            "admin_credentials_file": str(tmp_path / "admin-credentials.txt"),
            "login_lockout_seconds": 1,
            "pin_lockout_seconds": 1,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as c:
        yield c


def login(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post("/api/identity/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, ADMIN_EMAIL, ADMIN_PASSWORD)


class Chain:
    """Two outlets, a manager and a cashier at A, a cashier at B (each with a PIN)."""

    def __init__(self, client: TestClient, admin: dict[str, str]) -> None:
        self.client, self.admin = client, admin
        self.a = client.post("/api/identity/outlets", json={"name": "Outlet A"}, headers=admin).json()["id"]
        self.b = client.post("/api/identity/outlets", json={"name": "Outlet B"}, headers=admin).json()["id"]
        self.manager = self.user("manager-a@example.com", "manager", [self.a], pin="2580")
        self.cashier = self.user("cashier-a@example.com", "cashier", [self.a], pin="1357")
        self.cashier_b = self.user("cashier-b@example.com", "cashier", [self.b], pin="9630")

    def user(self, email: str, role: str, outlets: list[str], pin: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "email": email,
            "name": email.split("@")[0],
            "password": PASSWORD,
            "role": role,
            "outlets": outlets,
        }
        if pin:
            body["pin"] = pin
        response = self.client.post("/api/identity/users", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()

    def login(self, user: dict[str, Any]) -> dict[str, str]:
        return login(self.client, user["email"], PASSWORD)


@pytest.fixture
def chain(client: TestClient, admin: dict[str, str]) -> Chain:
    return Chain(client, admin)
