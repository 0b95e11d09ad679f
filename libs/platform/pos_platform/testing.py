"""Helpers for service tests: mint access tokens without running identity (and the
`auth` headers every service's tests send), look inside an in-process app, serve an app
on a free port.

Tokens carry the same claims identity issues (see pos_platform.auth.TokenVerifier),
signed with EdDSA by a private key a test made with pos_platform.keys.ensure_keypair.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def mint_token(
    private_key_file: str | Path,
    role: str,
    outlets: list[str],
    *,
    user_id: str = "user-1",
    email: str = "",
    name: str = "",
    audience: str = "pos",
    issuer: str = "pos-identity",
    ttl_seconds: int = 3600,
) -> str:
    """A signed access token for `role` with access to `outlets`."""
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "email": email,
        "name": name,
        "role": role,
        "outlets": list(outlets),
        "aud": audience,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, Path(private_key_file).read_text(), algorithm="EdDSA")


AuthHeaders = Callable[..., dict[str, str]]
"""A test's `auth` fixture: `auth()`, `auth("admin")`, `auth("cashier", ["outlet-b"])`,
`auth(user_id="user-2")` give request headers bearing such a token."""


def auth_headers(private_key_file: str | Path, *, role: str, outlets: list[str]) -> AuthHeaders:
    """Every service's `auth` fixture: headers with a token signed by `private_key_file`
    for `role` at `outlets` unless the test names others."""

    def headers(role: str = role, outlets: list[str] | None = None, user_id: str = "user-1") -> dict[str, str]:
        token = mint_token(private_key_file, role, default_outlets if outlets is None else outlets, user_id=user_id)
        return {"Authorization": f"Bearer {token}"}

    default_outlets = list(outlets)
    return headers


def app_state(target: TestClient | Starlette | None) -> State:
    """The `app.state` of an in-process app, a TestClient's or a sandbox's a provider runs
    in-process, for a test to look inside (its attributes are whatever the app put there)."""
    app = target if target is None or isinstance(target, Starlette) else target.app
    assert isinstance(app, Starlette), f"not an in-process app: {app!r}"
    return app.state


def outbox_events(target: TestClient | Starlette, type_: str | None = None) -> list[dict[str, Any]]:
    """The events an in-process service wrote to its outbox (whole envelopes: type,
    version, outlet_id, payload, ..., with the `routing_key` each is published under),
    oldest first, only those of `type_` when given."""
    db = app_state(target).ctx.db
    with db.transaction() as uow:
        rows = uow.session.execute(select(db.outbox.c.routing_key, db.outbox.c.body).order_by(db.outbox.c.id)).all()
    events = [{"routing_key": row.routing_key, **json.loads(row.body)} for row in rows]
    return [event for event in events if type_ is None or event["type"] == type_]


@contextmanager
def log_records(logger_name: str) -> Iterator[list[logging.LogRecord]]:
    """Every record `logger_name` (and its children) logs while the block runs, at any
    level, with the `extra=` fields a test reads through `vars(record)`."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(logger_name)
    handler = Keep(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@contextmanager
def serving(app: ASGIApp, timeout: float = 10.0) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread, for a test that needs
    a real HTTP server (a sandbox standing in for an outside API): its base URL; stopped
    when the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the app did not start serving on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on at the moment of asking, for a server
    a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
