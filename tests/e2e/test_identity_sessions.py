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
            body = {"email": f"{role}-{suffix}@example.com", "name": f"{role} {suffix}", "password": f"{role}-password-{suffix}",
                    "role": role, "outlets": [outlet], "pin": pin}
            users[role] = admin.post("/api/identity/users", json=body).raise_for_status().json() | {"password": body["password"]}

    with httpx.Client(base_url=local_stack.base_url, timeout=30) as browser:
        login = browser.post("/api/identity/login", json={"email": users["cashier"]["email"], "password": users["cashier"]["password"]})
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
            json={"action": "void", "outlet_id": outlet, "approver_id": users["manager"]["id"], "pin": "2580", "subject": "sale-1"},
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
        thief.post("/api/identity/login", json={"email": users["manager"]["email"], "password": users["manager"]["password"]}).raise_for_status()
        stolen = thief.cookies.get("pos_refresh")
        assert thief.post("/api/identity/refresh").status_code == 200
        thief.cookies.clear()
        thief.cookies.set("pos_refresh", stolen, path="/api/identity")
        reused = thief.post("/api/identity/refresh")
        assert reused.status_code == 401
        assert "reused" in reused.json()["detail"]
        assert "pos_refresh=" in reused.headers["set-cookie"]
