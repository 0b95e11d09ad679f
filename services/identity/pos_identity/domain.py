"""Passwords, PINs and tokens. No I/O here."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pos_platform.auth import APPROVAL_TOKEN_USE, approval_audience

# Argon2id at OWASP's minimum: 19 MiB, 2 iterations, parallelism 1.
password_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
PIN_LENGTHS = (4, 8)


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return password_hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Length first (NIST 800-63B, OWASP): no composition rules, but not the account's
    own email or name, and not one character repeated."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must be at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if len(set(lowered)) < 4:
        return "password must not be one or two characters repeated"
    for own in (email.lower(), email.lower().partition("@")[0], name.lower()):
        if len(own) >= 4 and own in lowered:
            return "password must not contain the account's email or name"
    return None


def pin_problem(pin: str) -> str | None:
    """Digits only, 4-8 long, not one digit repeated and not a straight run."""
    low, high = PIN_LENGTHS
    if not pin.isdigit() or not low <= len(pin) <= high:
        return f"PIN must be {low} to {high} digits"
    if len(set(pin)) == 1:
        return "PIN must not be one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {9}):
        return "PIN must not be a straight run such as 1234"
    return None


def new_refresh_secret() -> tuple[str, str]:
    """(secret for the cookie, SHA-256 hex stored in the database)."""
    secret = secrets.token_urlsafe(32)
    return secret, refresh_hash(secret)


def refresh_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_access_token(
    *,
    private_key_pem: str,
    user_id: str,
    email: str,
    name: str,
    role: str,
    outlets: list[str],
    ttl_seconds: int,
    audience: str,
    issuer: str,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": user_id,
        "email": email,
        "name": name,
        "role": role,
        "outlets": outlets,
        "aud": audience,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_key_pem, algorithm="EdDSA")


def issue_approval_token(
    *,
    private_key_pem: str,
    approver_id: str,
    approver_name: str,
    approver_role: str,
    approver_outlets: list[str],
    requested_by: str,
    action: str,
    outlet_id: str,
    subject: str | None,
    ttl_seconds: int,
    audience: str,
    issuer: str,
    now: datetime | None = None,
) -> tuple[str, str]:
    """A manager's approval of one action at one outlet: (token, jti). Its audience is
    not the access-token audience, so it can never be used as an access token."""
    now = now or datetime.now(UTC)
    jti = uuid.uuid4().hex
    claims = {
        "sub": approver_id,
        "name": approver_name,
        "role": approver_role,
        "outlets": approver_outlets,
        "token_use": APPROVAL_TOKEN_USE,
        "action": action,
        "outlet_id": outlet_id,
        "subject": subject,
        "requested_by": requested_by,
        "aud": approval_audience(audience),
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": jti,
    }
    return jwt.encode(claims, private_key_pem, algorithm="EdDSA"), jti
