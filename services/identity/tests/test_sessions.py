"""Log-in, lockout, refresh-token rotation and reuse detection, log-out, quick switch
and manager approval by PIN."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from pos_identity.config import Settings
from pos_platform.auth import ApprovalError, TokenVerifier

ADMIN = {"email": "admin@example.com", "password": "admin-password-for-tests"}
PASSWORD = "a-long-enough-password"
COOKIE = "pos_refresh"


def cookie(client: TestClient) -> str | None:
    return client.cookies.get(COOKIE, path="/api/identity")


def refresh_with(client: TestClient, secret: str | None) -> Any:
    client.cookies.clear()
    if secret is not None:
        client.cookies.set(COOKIE, secret, domain="testserver.local", path="/api/identity")
    return client.post("/api/identity/refresh")


def verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(settings.jwt_public_key_file, settings.jwt_audience, settings.jwt_issuer)


def audit_actions(client: TestClient, admin: dict[str, str], **params: Any) -> list[tuple[str, str]]:
    entries = client.get("/api/identity/audit", params={"limit": 500, **params}, headers=admin).json()["entries"]
    return [(e["action"], e["outcome"]) for e in entries]


def test_login_gives_short_token_and_strict_httponly_refresh_cookie(client: TestClient, settings: Settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/identity/login", json=ADMIN)
    assert response.status_code == 200
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "EdDSA"
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds <= 900
    assert {"sub", "role", "outlets", "aud", "iss", "jti", "exp"} <= set(claims)
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Path=/api/identity", "SameSite=strict"):
        assert attribute in header
    assert ADMIN["password"] not in response.text
    assert "password" not in body["user"] and "pin" not in str(body["user"]).replace("has_pin", "")
    assert ADMIN["password"] not in caplog.text


def test_cookie_is_secure_in_production(make_settings) -> None:
    assert make_settings(environment="production").cookie_secure
    assert not make_settings().cookie_secure
    assert make_settings(refresh_cookie_secure=True).cookie_secure


def test_failed_logins_are_alike_and_audited(client: TestClient, admin: dict[str, str]) -> None:
    unknown = client.post("/api/identity/login", json={"email": "nobody@example.com", "password": "whatever-it-is"})
    wrong = client.post("/api/identity/login", json={"email": ADMIN["email"], "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    entries = client.get("/api/identity/audit", params={"action": "login"}, headers=admin).json()["entries"]
    failures = [e for e in entries if e["outcome"] == "failure"]
    assert [e["details"]["reason"] for e in failures] == ["unknown_email", "wrong_password"]
    assert all("password" not in str(e["details"]).replace("wrong_password", "") for e in entries)
    assert failures[0]["source_ip"] == "testclient"


def test_lockout_after_repeated_failures_and_the_window_ends(client: TestClient, chain) -> None:
    user = chain.cashier
    wrong = {"email": user["email"], "password": "definitely wrong"}
    for _ in range(10):
        assert client.post("/api/identity/login", json=wrong).status_code == 401
    # Locked: even the right password is refused, with the same answer as a wrong one.
    refused = client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD})
    assert (refused.status_code, refused.json()) == (401, client.post("/api/identity/login", json=wrong).json())
    assert client.get(f"/api/identity/users/{user['id']}", headers=chain.admin).json()["locked_until"] is not None
    time.sleep(1.1)  # login_lockout_seconds=1 in these tests
    assert client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200
    assert ("account.locked", "success") in audit_actions(client, chain.admin)


def test_admin_can_unlock_early(client: TestClient, chain, make_settings) -> None:
    user = chain.manager
    for _ in range(10):
        client.post("/api/identity/login", json={"email": user["email"], "password": "definitely wrong"})
    assert client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    assert client.post(f"/api/identity/users/{user['id']}/unlock", headers=chain.admin).status_code == 200
    assert client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient) -> None:
    client.post("/api/identity/login", json=ADMIN).raise_for_status()
    first = cookie(client)
    rotated = refresh_with(client, first)
    assert rotated.status_code == 200
    second = cookie(client)
    assert second and second != first
    # The first token again (a stolen copy): refused, and the family is revoked ...
    reused = refresh_with(client, first)
    assert reused.status_code == 401
    assert "reused" in reused.json()["detail"]
    # ... so the legitimate holder of the newest token is logged out too.
    assert refresh_with(client, second).status_code == 401
    admin = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert ("session.token_reuse", "failure") in audit_actions(client, admin)


def test_refresh_without_or_with_a_forged_cookie_is_401(client: TestClient) -> None:
    assert refresh_with(client, None).status_code == 401
    assert refresh_with(client, "forged-token").status_code == 401
    assert refresh_with(client, "x" * 5000).status_code == 401


def test_logout_revokes_the_refresh_token_and_clears_the_cookie(client: TestClient) -> None:
    client.post("/api/identity/login", json=ADMIN).raise_for_status()
    secret = cookie(client)
    response = client.post("/api/identity/logout")
    assert response.status_code == 204
    assert f'{COOKIE}=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert refresh_with(client, secret).status_code == 401
    assert client.post("/api/identity/logout").status_code == 204  # idempotent


def test_role_change_is_in_force_by_the_next_refresh_and_disable_ends_sessions(client: TestClient, chain) -> None:
    user = chain.cashier
    client.cookies.clear()
    login_response = client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD})
    secret = cookie(client)
    assert jwt.decode(login_response.json()["access_token"], options={"verify_signature": False})["role"] == "cashier"
    changed = client.patch(
        f"/api/identity/users/{user['id']}", json={"role": "manager", "outlets": [chain.a, chain.b]}, headers=chain.admin
    )
    assert changed.status_code == 200, changed.text
    refreshed = refresh_with(client, secret)
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert (claims["role"], sorted(claims["outlets"])) == ("manager", sorted([chain.a, chain.b]))
    secret = cookie(client)
    assert client.patch(f"/api/identity/users/{user['id']}", json={"active": False}, headers=chain.admin).status_code == 200
    assert refresh_with(client, secret).status_code == 401
    assert client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401


def test_password_change_needs_the_current_password_and_ends_the_other_sessions(client: TestClient, chain) -> None:
    """The session changing the password stays; every other session of the user ends
    (another till, a phone, a copied cookie), and only the new password logs in."""
    user = chain.cashier
    chain.login(user)
    elsewhere = cookie(client)  # the same user logged in on another device
    headers = chain.login(user)
    here = cookie(client)
    new = "another-long-password"
    wrong = client.put("/api/identity/me/password", json={"current_password": "nope", "new_password": new}, headers=headers)
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == "your current password is not right (wrong ones count towards the account's lockout)"
    weak = client.put("/api/identity/me/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=headers)
    assert weak.status_code == 422 and weak.json()["detail"][0]["msg"] == "password must be at least 12 characters"
    same = client.put("/api/identity/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=headers)
    assert same.status_code == 422 and "same as the current one" in same.json()["detail"][0]["msg"]
    assert refresh_with(client, here).status_code == 200  # nothing refused so far ended a session
    here = cookie(client)
    ok = client.put("/api/identity/me/password", json={"current_password": PASSWORD, "new_password": new}, headers=headers)
    assert ok.status_code == 204
    assert "set-cookie" not in ok.headers  # this session's cookie stays
    assert refresh_with(client, elsewhere).status_code == 401
    assert refresh_with(client, here).status_code == 200
    assert client.post("/api/identity/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    assert client.post("/api/identity/login", json={"email": user["email"], "password": new}).status_code == 200
    entries = client.get("/api/identity/audit", params={"action": "user.password_changed"}, headers=chain.admin).json()["entries"]
    assert [(e["actor_id"], e["details"]["kept_session"]) for e in entries] == [(user["id"], True)]


def test_password_change_without_a_session_cookie_ends_every_session(client: TestClient, chain) -> None:
    """An API client with only the access token: no session of its own to keep."""
    headers = chain.login(chain.cashier)
    secret = cookie(client)
    client.cookies.clear()
    ok = client.put(
        "/api/identity/me/password", json={"current_password": PASSWORD, "new_password": "another-long-password"}, headers=headers
    )
    assert ok.status_code == 204
    assert refresh_with(client, secret).status_code == 401


def test_wrong_current_passwords_lock_the_account_and_say_so(client: TestClient, chain, settings: Settings) -> None:
    """The current-password check counts towards the log-in lockout; once locked the
    answer says so (the caller is logged in: no enumeration to hide), and a right
    password clears the count."""
    headers = chain.login(chain.manager)
    body = {"current_password": "not-my-password", "pin": "4826"}
    assert client.put("/api/identity/me/pin", json=body, headers=headers).status_code == 403
    # A right one clears the count, as a log-in does.
    assert client.put("/api/identity/me/pin", json={**body, "current_password": PASSWORD}, headers=headers).status_code == 204
    answers = [client.put("/api/identity/me/pin", json=body, headers=headers) for _ in range(settings.login_max_failures)]
    assert [a.status_code for a in answers] == [403] * settings.login_max_failures
    assert "not right" in answers[-2].json()["detail"]
    assert answers[-1].json()["detail"] == "too many wrong passwords, so the account is locked for a while: try again in 1 minute"
    # While locked even the right password is not checked.
    locked = client.put("/api/identity/me/pin", json={**body, "current_password": PASSWORD}, headers=headers)
    assert locked.status_code == 403 and "locked" in locked.json()["detail"]
    assert client.post("/api/identity/login", json={"email": chain.manager["email"], "password": PASSWORD}).status_code == 401
    time.sleep(settings.login_lockout_seconds + 0.1)
    assert client.put("/api/identity/me/pin", json={**body, "current_password": PASSWORD}, headers=headers).status_code == 204


def test_a_manager_sets_their_own_pin_and_approves_with_it(client: TestClient, chain) -> None:
    manager = chain.user("new-manager@example.com", "manager", [chain.a])
    assert manager["has_pin"] is False
    headers = chain.login(manager)
    weak = client.put("/api/identity/me/pin", json={"current_password": PASSWORD, "pin": "1111"}, headers=headers)
    assert weak.status_code == 422 and weak.json()["detail"][0]["msg"] == "PIN must not be one digit repeated"
    assert (
        client.put("/api/identity/me/pin", json={"current_password": PASSWORD, "pin": "4826"}, headers=headers).status_code == 204
    )
    assert client.get("/api/identity/me", headers=headers).json()["has_pin"] is True
    till = chain.login(chain.cashier)
    body = {"action": "refund", "outlet_id": chain.a, "approver_id": manager["id"], "pin": "4826", "subject": "sale-7"}
    assert client.post("/api/identity/approvals", json=body, headers=till).status_code == 201


def test_quick_switch_by_pin_within_a_till_session(client: TestClient, chain) -> None:
    till = chain.login(chain.manager)
    before = cookie(client)
    switched = client.post(
        "/api/identity/switch", json={"outlet_id": chain.a, "user_id": chain.cashier["id"], "pin": "1357"}, headers=till
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["user"]["id"] == chain.cashier["id"]
    assert refresh_with(client, before).status_code == 401  # the previous session ended
    # Wrong PIN, another outlet's cashier, or no till session: refused.
    assert (
        client.post(
            "/api/identity/switch", json={"outlet_id": chain.a, "user_id": chain.cashier["id"], "pin": "2468"}, headers=till
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/identity/switch", json={"outlet_id": chain.a, "user_id": chain.cashier_b["id"], "pin": "9630"}, headers=till
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/identity/switch", json={"outlet_id": chain.b, "user_id": chain.cashier_b["id"], "pin": "9630"}, headers=till
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/identity/switch", json={"outlet_id": chain.a, "user_id": chain.cashier["id"], "pin": "1357"}
        ).status_code
        == 401
    )


def test_pin_lockout(client: TestClient, chain) -> None:
    till = chain.login(chain.manager)
    body = {"outlet_id": chain.a, "user_id": chain.cashier["id"], "pin": "2468"}
    for _ in range(5):
        assert client.post("/api/identity/switch", json=body, headers=till).status_code == 403
    right = {**body, "pin": "1357"}
    assert client.post("/api/identity/switch", json=right, headers=till).status_code == 403  # locked
    time.sleep(1.1)
    assert client.post("/api/identity/switch", json=right, headers=till).status_code == 200


def test_staff_list_of_an_outlet(client: TestClient, chain) -> None:
    cashier = chain.login(chain.cashier)
    staff = client.get(f"/api/identity/outlets/{chain.a}/staff", headers=cashier).json()
    assert {s["id"] for s in staff} == {chain.manager["id"], chain.cashier["id"]}
    assert client.get(f"/api/identity/outlets/{chain.b}/staff", headers=cashier).status_code == 404


def test_manager_approval_by_pin_is_verified_locally(client: TestClient, chain, settings: Settings) -> None:
    till = chain.login(chain.cashier)
    body = {
        "action": "refund",
        "outlet_id": chain.a,
        "approver_id": chain.manager["id"],
        "pin": "2580",
        "subject": "sale-42",
        "amount_minor": 1250,
    }
    response = client.post("/api/identity/approvals", json=body, headers=till)
    assert response.status_code == 201, response.text
    token = response.json()["approval_token"]
    check = verifier(settings)
    approver = check.verify_approval(
        token, action="refund", outlet_id=chain.a, subject="sale-42", requested_by=chain.cashier["id"]
    )
    assert (approver.user_id, approver.role) == (chain.manager["id"], "manager")
    for kwargs, reason in [
        ({"action": "void", "outlet_id": chain.a}, "not 'void'"),
        ({"action": "refund", "outlet_id": chain.b}, "another outlet"),
        ({"action": "refund", "outlet_id": chain.a, "subject": "sale-43"}, "another object"),
        ({"action": "refund", "outlet_id": chain.a, "requested_by": "someone-else"}, "another user"),
    ]:
        with pytest.raises(ApprovalError, match=reason):
            check.verify_approval(token, **kwargs)
    # An approval is not an access token, and an access token is not an approval.
    assert client.get("/api/identity/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with pytest.raises(ApprovalError):
        check.verify_approval(till["Authorization"].split()[1], action="refund", outlet_id=chain.a)
    entries = client.get("/api/identity/audit", params={"action": "approval"}, headers=chain.admin).json()["entries"]
    assert entries[-1]["actor_id"] == chain.manager["id"]
    assert entries[-1]["details"]["requested_by"] == chain.cashier["id"]
    assert entries[-1]["details"]["amount_minor"] == 1250


def test_only_a_manager_with_the_right_pin_approves(client: TestClient, chain) -> None:
    till = chain.login(chain.cashier)
    body = {"action": "void", "outlet_id": chain.a, "approver_id": chain.manager["id"], "pin": "2468"}
    assert client.post("/api/identity/approvals", json=body, headers=till).status_code == 403
    cashier_approves = {**body, "approver_id": chain.cashier["id"], "pin": "1357"}
    response = client.post("/api/identity/approvals", json=cashier_approves, headers=till)
    assert response.status_code == 403 and "manager" in response.json()["detail"]
    unknown_action = {**body, "action": "give_away_the_shop", "pin": "2580"}
    assert client.post("/api/identity/approvals", json=unknown_action, headers=till).status_code == 422
    other_outlet = {**body, "outlet_id": chain.b, "pin": "2580"}
    assert client.post("/api/identity/approvals", json=other_outlet, headers=till).status_code == 404


def test_expired_approval_is_refused(client: TestClient, chain, settings: Settings) -> None:
    from pos_identity.domain import issue_approval_token

    token, _ = issue_approval_token(
        private_key_pem=Path(settings.jwt_private_key_file).read_text(),
        approver_id=chain.manager["id"],
        approver_name="m",
        approver_role="manager",
        approver_outlets=[chain.a],
        requested_by="x",
        action="void",
        outlet_id=chain.a,
        subject=None,
        ttl_seconds=-10,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    with pytest.raises(ApprovalError, match="expired"):
        verifier(settings).verify_approval(token, action="void", outlet_id=chain.a)
