"""Sessions through the nginx gateway on the local stack: the refresh cookie's
attributes as the browser sees them, rotation, log-out, and a manager's PIN approval
that another service could verify with the public key the gateway serves."""

from __future__ import annotations

import uuid

import httpx
import jwt
import pytest

from pos_platform.auth import TokenVerifier
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


def test_refresh_cookie_rotation_logout_and_approval(local_stack: Stack, tmp_path) -> None:
    suffix = uuid.uuid4().hex[:8]
    with local_stack.client(local_stack.login()) as admin:
        outlet = admin.post("/api/identity/outlets", json={"name": f"Sessions {suffix}"}).raise_for_status().json()["id"]
        users = {}
        for role, pin in (("cashier", "1357"), ("manager", "2580")):
            body = {
                "email": f"{role}-{suffix}@example.com",
                "name": f"{role} {suffix}",
                "password": f"{role}-password-{suffix}",
                "role": role,
                "outlets": [outlet],
                "pin": pin,
            }
            users[role] = admin.post("/api/identity/users", json=body).raise_for_status().json() | {"password": body["password"]}

    with httpx.Client(base_url=local_stack.base_url, timeout=30) as browser:
        login = browser.post(
            "/api/identity/login", json={"email": users["cashier"]["email"], "password": users["cashier"]["password"]}
        )
        assert login.status_code == 200, login.text
        cookie = login.headers["set-cookie"]
        for attribute in ("pos_refresh=", "HttpOnly", "Path=/api/identity", "SameSite=strict"):
            assert attribute in cookie
        assert login.headers["x-frame-options"] == "DENY"
        first = browser.cookies.get("pos_refresh")

        refreshed = browser.post("/api/identity/refresh")
        assert refreshed.status_code == 200, refreshed.text
        assert browser.cookies.get("pos_refresh") != first
        token = refreshed.json()["access_token"]

        public_key = tmp_path / "public.pem"
        public_key.write_text(browser.get("/api/identity/public-key").text)
        approval = browser.post(
            "/api/identity/approvals",
            json={
                "action": "void",
                "outlet_id": outlet,
                "approver_id": users["manager"]["id"],
                "pin": "2580",
                "subject": "sale-1",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert approval.status_code == 201, approval.text
        verifier = TokenVerifier(str(public_key), "pos", "pos-identity")
        approver = verifier.verify_approval(approval.json()["approval_token"], action="void", outlet_id=outlet, subject="sale-1")
        assert approver.user_id == users["manager"]["id"]
        assert jwt.get_unverified_header(approval.json()["approval_token"])["alg"] == "EdDSA"

        assert browser.post("/api/identity/logout").status_code == 204
        assert browser.post("/api/identity/refresh").status_code == 401

    # A copied (already used) refresh token: refused with a readable answer that clears
    # the cookie, and the family it belongs to is over.
    with httpx.Client(base_url=local_stack.base_url, timeout=30) as thief:
        thief.post(
            "/api/identity/login", json={"email": users["manager"]["email"], "password": users["manager"]["password"]}
        ).raise_for_status()
        stolen = thief.cookies.get("pos_refresh")
        assert thief.post("/api/identity/refresh").status_code == 200
        thief.cookies.clear()
        thief.cookies.set("pos_refresh", stolen, path="/api/identity")
        reused = thief.post("/api/identity/refresh")
        assert reused.status_code == 401
        assert "reused" in reused.json()["detail"]
        assert "pos_refresh=" in reused.headers["set-cookie"]


def test_manager_registers_and_own_password_through_the_gateway(local_stack: Stack) -> None:
    """On MariaDB through nginx: a manager adds and switches off a register of their own
    outlet, is refused another outlet (403) and its registers (404); changing their own
    password keeps the browser's session (its cookie, path /api/identity) and ends the
    other one."""
    suffix = uuid.uuid4().hex[:8]
    password = f"manager-password-{suffix}"
    with local_stack.client(local_stack.login()) as admin:
        mine, other = (
            admin.post("/api/identity/outlets", json={"name": f"{name} {suffix}"}).raise_for_status().json()["id"]
            for name in ("Mine", "Other")
        )
        email = f"manager-{suffix}@example.com"
        body = {"email": email, "name": f"Manager {suffix}", "password": password, "role": "manager", "outlets": [mine]}
        admin.post("/api/identity/users", json=body).raise_for_status()
        other_register = (
            admin.post("/api/identity/registers", json={"outlet_id": other, "name": "Other till"}).raise_for_status().json()
        )

    with (
        httpx.Client(base_url=local_stack.base_url, timeout=30) as elsewhere,
        httpx.Client(base_url=local_stack.base_url, timeout=30) as browser,
    ):
        assert elsewhere.post("/api/identity/login", json={"email": email, "password": password}).status_code == 200
        token = (
            browser.post("/api/identity/login", json={"email": email, "password": password})
            .raise_for_status()
            .json()["access_token"]
        )
        auth = {"Authorization": f"Bearer {token}"}

        made = browser.post("/api/identity/registers", json={"outlet_id": mine, "name": "Front till"}, headers=auth)
        assert made.status_code == 201, made.text
        assert (made.json()["outlet_id"], made.json()["number"]) == (mine, 1)
        off = browser.patch(f"/api/identity/registers/{made.json()['id']}", json={"active": False}, headers=auth)
        assert off.status_code == 200 and off.json()["active"] is False
        refused = browser.post("/api/identity/registers", json={"outlet_id": other, "name": "Sneaky"}, headers=auth)
        assert refused.status_code == 403 and "outlets you work at" in refused.json()["detail"]
        hidden = browser.patch(f"/api/identity/registers/{other_register['id']}", json={"active": False}, headers=auth)
        assert hidden.status_code == 404

        new_password = f"harbour-lights-{suffix}"
        changed = browser.put(
            "/api/identity/me/password", json={"current_password": password, "new_password": new_password}, headers=auth
        )
        assert changed.status_code == 204, changed.text
        assert browser.post("/api/identity/refresh").status_code == 200
        assert elsewhere.post("/api/identity/refresh").status_code == 401
        assert browser.post("/api/identity/login", json={"email": email, "password": password}).status_code == 401
        assert browser.post("/api/identity/login", json={"email": email, "password": new_password}).status_code == 200
