"""Helpers for service tests: mint access tokens without running identity; read what a
service put in its outbox.

Tokens carry the same claims identity issues (see pos_platform.auth.TokenVerifier),
signed with EdDSA by a private key a test made with pos_platform.keys.ensure_keypair.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from sqlalchemy import select

if TYPE_CHECKING:
    from pos_platform.db import Database


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


def outbox_events(db: Database) -> list[dict[str, Any]]:
    """Every event in the service's outbox, oldest first: its envelope (type, version,
    outlet_id, payload, ...) with the routing key it is published under."""
    with db.transaction() as uow:
        rows = uow.session.execute(select(db.outbox.c.routing_key, db.outbox.c.body).order_by(db.outbox.c.id)).all()
    return [{"routing_key": r.routing_key, **json.loads(r.body)} for r in rows]
