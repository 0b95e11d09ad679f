"""Brute force through the real gateway: 200 wrong passwords against one account are
mostly refused by nginx (429), the ones that get through lock the account, and the
right password works again once the lockout window is over.

The window is POS_LOGIN_LOCKOUT_SECONDS, set short for the test stack by
tests/security/conftest.py (production keeps the default 15 minutes)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e

ATTACKERS = 8  # concurrent connections (each wrong guess costs the service ~50 ms of Argon2)


def test_200_wrong_passwords_give_429s_and_a_lockout_that_ends(local_stack: Stack) -> None:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    password = f"the-right-password-{uuid.uuid4().hex[:6]}"
    with local_stack.client(local_stack.login()) as admin:
        user = admin.post("/api/identity/users", json={"email": email, "name": "Victim", "password": password, "role": "cashier"})
        assert user.status_code == 201, user.text
        user_id = user.json()["id"]

        # In parallel, as a real attacker would: one guess at a time would be slower than
        # the limit (each wrong password costs the service an Argon2 verification).
        with local_stack.client() as attacker, ThreadPoolExecutor(ATTACKERS) as pool:
            statuses = Counter(
                pool.map(
                    lambda attempt: (
                        attacker.post(
                            "/api/identity/login", json={"email": email, "password": f"guess-{attempt:04d}-wrong"}
                        ).status_code
                    ),
                    range(200),
                )
            )
        assert set(statuses) == {401, 429}, statuses
        assert statuses[429] >= 100, f"nginx let too many through: {statuses}"
        assert statuses[401] >= 10, f"too few reached the service to lock the account: {statuses}"

        locked = admin.get(f"/api/identity/users/{user_id}").json()["locked_until"]
        assert locked is not None, "the account is not locked"
        until = datetime.fromisoformat(locked).replace(tzinfo=UTC)
        wait = (until - datetime.now(UTC)).total_seconds()
        assert wait <= 60, f"lockout window {wait:.0f} s: is POS_LOGIN_LOCKOUT_SECONDS set for the test stack?"

        # While locked, the right password is refused like a wrong one (nginx's bucket
        # refills 10 per second, so one request gets through after a short pause).
        time.sleep(0.5)
        with local_stack.client() as owner:
            during = owner.post("/api/identity/login", json={"email": email, "password": password})
            assert during.status_code == 401, during.text

            time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.0)
            after = owner.post("/api/identity/login", json={"email": email, "password": password})
            assert after.status_code == 200, after.text

        audit = admin.get("/api/identity/audit", params={"actor_id": user_id, "limit": 500}).json()["entries"]
        actions = Counter((e["action"], e["outcome"]) for e in audit)
        assert actions[("account.locked", "success")] == 1
        assert actions[("login", "failure")] >= 10
        assert actions[("login", "success")] == 1
        assert all(e["source_ip"] == "127.0.0.1" for e in audit if e["action"] == "login")
        assert admin.get("/api/identity/audit/verify").json()["ok"] is True
