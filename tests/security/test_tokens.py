"""Forged, expired and misdirected access tokens, against every real service app:
each is answered 401, while the same request with a valid token is not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.security.world import World

PROBES = {
    # service -> a GET any logged-in role may call (no path parameters)
    "identity": "/api/identity/me",
    "catalog": "/api/catalog/products",
    "inventory": "/api/inventory/ledger",
    "sales": "/api/sales",
    "payments": "/api/payments/provider",
    "reports": "/api/reports/sales/daily",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(world: World, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": world.a.manager_id,
        "email": "",
        "name": "",
        "role": "manager",
        "outlets": [world.a.outlet_id],
        "aud": "pos",
        "iss": "pos-identity",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(world: World, **overrides: object) -> str:
    return jwt.encode(claims(world, **overrides), world.private_key.read_text(), algorithm="EdDSA")


def unsigned(world: World, alg: str) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims(world, role='admin', outlets=[])).encode())}."


def hs256_with_public_key(world: World) -> str:
    """The classic algorithm confusion: HMAC keyed with the (public) verification key."""
    public_pem = (world.private_key.parent / "jwt-public.pem").read_bytes()
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims(world, role='admin', outlets=[])).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tampered(world: World) -> str:
    """A valid cashier token whose payload was edited to say admin (signature kept)."""
    header, _, signature = signed(world, role="cashier").split(".")
    return f"{header}.{b64(json.dumps(claims(world, role='admin', outlets=[])).encode())}.{signature}"


def foreign_key(world: World) -> str:
    other = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(
        claims(world, role="admin", outlets=[]), other, algorithm="EdDSA", headers={"jku": "https://attacker.example/jwks"}
    )


def approval_as_access(world: World) -> str:
    return signed(world, aud="pos:approval", token_use="approval", action="refund", outlet_id=world.a.outlet_id)  # noqa: S106


BAD_TOKENS: dict[str, Callable[[World], str]] = {
    "alg none": lambda w: unsigned(w, "none"),
    "alg None": lambda w: unsigned(w, "None"),
    "HS256 signed with the public key": hs256_with_public_key,
    "expired": lambda w: signed(w, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "wrong audience": lambda w: signed(w, aud="another-system"),
    "wrong issuer": lambda w: signed(w, iss="someone-else"),
    "tampered claims": tampered,
    "signed by another key": foreign_key,
    "no exp": lambda w: signed(w, exp=None),
    "no jti": lambda w: signed(w, jti=None),
    "unknown role": lambda w: signed(w, role="owner"),
    "an approval token": approval_as_access,
    "not a JWT": lambda w: "not-a-token",
}


@pytest.mark.parametrize("service", sorted(PROBES))
def test_a_valid_token_is_accepted(world: World, service: str) -> None:
    with world.client() as http:
        response = http.get(PROBES[service], headers={"Authorization": f"Bearer {signed(world)}"})
    assert response.status_code not in (401, 403), response.text


@pytest.mark.parametrize("service", sorted(PROBES))
@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_401(world: World, service: str, kind: str) -> None:
    token = BAD_TOKENS[kind](world)
    with world.client() as http:
        response = http.get(PROBES[service], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, f"{kind} on {service}: {response.status_code} {response.text}"
    assert response.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("header", ["", "Bearer", "Basic YWRtaW46YWRtaW4=", "Token abc"])
def test_missing_or_other_schemes_are_401(world: World, header: str) -> None:
    with world.client() as http:
        response = http.get(PROBES["sales"], headers={"Authorization": header} if header else {})
    assert response.status_code == 401
