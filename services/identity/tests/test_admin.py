"""Outlets, registers and users: who may do what, and what each caller can see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pos_platform.testing import outbox_events


def test_outlets_and_registers_are_scoped_to_the_callers_outlets(client: TestClient, chain) -> None:
    register_a = client.post("/api/identity/registers", json={"outlet_id": chain.a, "name": "Till 1"}, headers=chain.admin)
    register_b = client.post("/api/identity/registers", json={"outlet_id": chain.b, "name": "Till 1"}, headers=chain.admin)
    assert register_a.status_code == register_b.status_code == 201
    cashier = chain.login(chain.cashier)
    assert [o["id"] for o in client.get("/api/identity/outlets", headers=cashier).json()] == [chain.a]
    assert client.get(f"/api/identity/outlets/{chain.b}", headers=cashier).status_code == 404
    assert client.get(f"/api/identity/outlets/{chain.a}", headers=cashier).status_code == 200
    assert [r["id"] for r in client.get("/api/identity/registers", headers=cashier).json()] == [register_a.json()["id"]]
    assert client.get("/api/identity/registers", params={"outlet_id": chain.b}, headers=cashier).status_code == 404
    assert client.get(f"/api/identity/registers/{register_b.json()['id']}", headers=cashier).status_code == 404
    assert len(client.get("/api/identity/registers", headers=chain.admin).json()) == 2


def test_only_admins_manage(client: TestClient, chain) -> None:
    manager = chain.login(chain.manager)
    assert client.post("/api/identity/outlets", json={"name": "Mine"}, headers=manager).status_code == 403
    assert client.patch(f"/api/identity/outlets/{chain.a}", json={"name": "Renamed"}, headers=manager).status_code == 403
    assert client.get("/api/identity/users", headers=manager).status_code == 403
    assert client.patch(f"/api/identity/users/{chain.manager['id']}", json={"role": "admin"}, headers=manager).status_code == 403
    assert client.get("/api/identity/audit", headers=manager).status_code == 403


def test_no_mass_assignment(client: TestClient, chain) -> None:
    body = {"email": "x@example.com", "name": "X", "password": "a-long-enough-password", "role": "cashier", "outlets": [chain.a]}
    assert (
        client.post("/api/identity/users", json={**body, "active": False, "id": "mine"}, headers=chain.admin).status_code == 422
    )
    assert client.post("/api/identity/users", json={**body, "role": "owner"}, headers=chain.admin).status_code == 422
    assert (
        client.post("/api/identity/users", json={**body, "outlets": ["no-such-outlet"]}, headers=chain.admin).status_code == 422
    )
    assert client.patch(f"/api/identity/outlets/{chain.a}", json={"currency": "USD"}, headers=chain.admin).status_code == 422
    cashier = chain.login(chain.cashier)
    changed = client.put(
        "/api/identity/me/pin",
        json={"current_password": "a-long-enough-password", "pin": "8642", "role": "admin"},
        headers=cashier,
    )
    assert changed.status_code == 422


def test_user_lifecycle_is_audited_with_before_and_after(client: TestClient, chain) -> None:
    user = chain.cashier
    response = client.patch(
        f"/api/identity/users/{user['id']}", json={"outlets": [chain.a, chain.b], "name": "Renamed"}, headers=chain.admin
    )
    assert response.status_code == 200
    assert sorted(response.json()["outlets"]) == sorted([chain.a, chain.b])
    entries = client.get("/api/identity/audit", params={"action": "user.updated"}, headers=chain.admin).json()["entries"]
    assert entries[-1]["target_id"] == user["id"]
    assert entries[-1]["details"]["before"]["outlets"] == [chain.a]
    assert entries[-1]["details"]["after"]["name"] == "Renamed"
    assert entries[-1]["details"]["changed"] == ["name", "outlets"]


def test_the_last_admin_stays(client: TestClient, chain) -> None:
    me = client.get("/api/identity/me", headers=chain.admin).json()
    assert client.patch(f"/api/identity/users/{me['id']}", json={"role": "manager"}, headers=chain.admin).status_code == 409
    assert client.patch(f"/api/identity/users/{me['id']}", json={"active": False}, headers=chain.admin).status_code == 409
    second = chain.user("second-admin@example.com", "admin", [])
    assert client.patch(f"/api/identity/users/{second['id']}", json={"active": False}, headers=chain.admin).status_code == 200


def test_weak_passwords_and_pins_are_refused(client: TestClient, chain) -> None:
    body = {"email": "weak@example.com", "name": "Weak", "role": "cashier", "outlets": []}
    assert client.post("/api/identity/users", json={**body, "password": "short"}, headers=chain.admin).status_code == 422
    assert (
        client.post(
            "/api/identity/users", json={**body, "password": "a-long-enough-password", "pin": "1234"}, headers=chain.admin
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"/api/identity/users/{chain.cashier['id']}", json={"password": "aaaaaaaaaaaaaaa"}, headers=chain.admin
        ).status_code
        == 422
    )


def test_admin_ends_a_users_sessions(client: TestClient, chain) -> None:
    chain.login(chain.cashier)
    secret = client.cookies.get("pos_refresh", path="/api/identity")
    assert client.delete(f"/api/identity/sessions/users/{chain.cashier['id']}", headers=chain.admin).status_code == 204
    client.cookies.clear()
    client.cookies.set("pos_refresh", secret, domain="testserver.local", path="/api/identity")
    assert client.post("/api/identity/refresh").status_code == 401


def _announced(client: TestClient, type_: str) -> list[dict]:
    return [e["payload"] for e in outbox_events(client, type_)]


def test_registers_are_numbered_in_their_outlet_and_announced(client: TestClient, chain) -> None:
    """Issue 14, finding 8: receipt numbers carry the register's number in its outlet
    (the next free one, or one the admin picks), never shared and never changed."""
    made = [
        client.post("/api/identity/registers", json={"outlet_id": outlet, "name": name}, headers=chain.admin)
        for outlet, name in [(chain.a, "East 1"), (chain.a, "East 2"), (chain.b, "Front")]
    ]
    assert [r.status_code for r in made] == [201, 201, 201]
    assert [r.json()["number"] for r in made] == [1, 2, 1]
    chosen = client.post("/api/identity/registers", json={"outlet_id": chain.a, "name": "Bar", "number": 7}, headers=chain.admin)
    assert chosen.status_code == 201 and chosen.json()["number"] == 7
    taken = client.post(
        "/api/identity/registers", json={"outlet_id": chain.a, "name": "Terrace", "number": 2}, headers=chain.admin
    )
    assert taken.status_code == 409 and "numbered 2" in taken.json()["detail"]
    after = client.post("/api/identity/registers", json={"outlet_id": chain.a, "name": "Terrace"}, headers=chain.admin)
    assert after.json()["number"] == 8
    assert (
        client.post(
            "/api/identity/registers", json={"outlet_id": chain.a, "name": "Zero", "number": 0}, headers=chain.admin
        ).status_code
        == 422
    )
    # The number cannot be changed afterwards (an unknown field).
    east1 = made[0].json()["id"]
    assert client.patch(f"/api/identity/registers/{east1}", json={"number": 5}, headers=chain.admin).status_code == 422
    closed = client.patch(f"/api/identity/registers/{east1}", json={"active": False}, headers=chain.admin)
    assert closed.status_code == 200 and closed.json() == {**made[0].json(), "active": False}
    announced = [e for e in _announced(client, "RegisterChanged") if e["register_id"] == east1]
    assert announced == [
        {"register_id": east1, "outlet_id": chain.a, "number": 1, "name": "East 1", "active": True},
        {"register_id": east1, "outlet_id": chain.a, "number": 1, "name": "East 1", "active": False},
    ]


def test_a_manager_manages_the_registers_of_their_own_outlets_only(client: TestClient, chain) -> None:
    """Outlet A's manager adds, renames, switches off and on A's registers; outlet B is
    not theirs: adding there is refused (403, whether B exists or not) and B's registers
    do not exist for them (404, as to GET). A cashier manages none."""
    manager = chain.login(chain.manager)
    made = client.post("/api/identity/registers", json={"outlet_id": chain.a, "name": "Front till"}, headers=manager)
    assert made.status_code == 201, made.text
    register = made.json()
    assert (register["outlet_id"], register["number"], register["active"]) == (chain.a, 1, True)
    renamed = client.patch(f"/api/identity/registers/{register['id']}", json={"name": "Window till"}, headers=manager)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Window till"
    off = client.patch(f"/api/identity/registers/{register['id']}", json={"active": False}, headers=manager)
    assert off.status_code == 200 and off.json()["active"] is False
    assert (
        client.patch(f"/api/identity/registers/{register['id']}", json={"active": True}, headers=manager).json()["active"] is True
    )

    other = client.post("/api/identity/registers", json={"outlet_id": chain.b, "name": "Sneaky"}, headers=manager)
    assert other.status_code == 403
    assert other.json()["detail"] == "you can only add registers to the outlets you work at: ask an admin for another outlet"
    unknown = client.post("/api/identity/registers", json={"outlet_id": "no-such-outlet", "name": "Sneaky"}, headers=manager)
    assert (unknown.status_code, unknown.json()) == (403, other.json())
    b_register = client.post("/api/identity/registers", json={"outlet_id": chain.b, "name": "B till"}, headers=chain.admin).json()
    for body in ({"name": "Mine now"}, {"active": False}):
        refused = client.patch(f"/api/identity/registers/{b_register['id']}", json=body, headers=manager)
        assert refused.status_code == 404 and refused.json()["detail"] == "register not found"
    assert client.get(f"/api/identity/registers/{b_register['id']}", headers=chain.admin).json() == b_register

    cashier = chain.login(chain.cashier)
    assert client.post("/api/identity/registers", json={"outlet_id": chain.a, "name": "Mine"}, headers=cashier).status_code == 403
    assert client.patch(f"/api/identity/registers/{register['id']}", json={"active": False}, headers=cashier).status_code == 403
    assert [r["name"] for r in client.get("/api/identity/registers", params={"outlet_id": chain.a}, headers=cashier).json()] == [
        "Window till"
    ]

    # Audited with the manager as the actor.
    entries = client.get("/api/identity/audit", params={"action": "register.created"}, headers=chain.admin).json()["entries"]
    mine = [e for e in entries if e["target_id"] == register["id"]]
    assert [(e["actor_id"], e["actor_role"], e["outlet_id"]) for e in mine] == [(chain.manager["id"], "manager", chain.a)]


def test_an_outlet_changed_in_identity_is_announced(client: TestClient, chain) -> None:
    """ADR 0072: a new name or time zone is published (OutletChanged, the whole outlet), so
    sales, inventory and reports take the zone from here instead of having it set twice;
    a PATCH that changes nothing publishes nothing."""
    moved = client.patch(f"/api/identity/outlets/{chain.a}", json={"timezone": "Europe/Berlin"}, headers=chain.admin)
    assert moved.status_code == 200, moved.text
    assert (
        client.patch(f"/api/identity/outlets/{chain.a}", json={"timezone": "Europe/Berlin"}, headers=chain.admin).status_code
        == 200
    )
    announced = [e for e in _announced(client, "OutletChanged") if e["outlet_id"] == chain.a]
    assert announced == [
        {"outlet_id": chain.a, "name": moved.json()["name"], "currency": moved.json()["currency"], "timezone": "Europe/Berlin"}
    ]
