"""Access tokens: verified locally by every service with identity's public key.

The accepted algorithm list is fixed (EdDSA only): a token signed with `none` or with
HS256 using the public key as a secret is refused.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel

ALGORITHMS = ["EdDSA"]
ROLES = ("cashier", "manager", "admin")


class Principal(BaseModel):
    user_id: str
    email: str = ""
    name: str = ""
    role: str
    outlets: list[str] = []
    token: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_access(self, outlet_id: str) -> bool:
        return self.is_admin or outlet_id in self.outlets

    def visible_outlets(self, requested: str | None) -> list[str] | None:
        """Outlets a query may cover: None means 'all' (admin without a filter)."""
        if requested is not None:
            ensure_outlet(self, requested)
            return [requested]
        return None if self.is_admin else list(self.outlets)


class TokenVerifier:
    def __init__(self, public_key_file: str, audience: str, issuer: str) -> None:
        self.public_key_file = public_key_file
        self.audience = audience
        self.issuer = issuer
        self._key: str | None = None
        self._lock = threading.Lock()

    def _public_key(self) -> str:
        # Loaded on first use: in embedded mode identity writes the key pair at start-up.
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = Path(self.public_key_file).read_text()
        return self._key

    def verify(self, token: str) -> Principal:
        claims = jwt.decode(
            token,
            self._public_key(),
            algorithms=ALGORITHMS,
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
        )
        role = claims.get("role")
        if role not in ROLES:
            raise jwt.InvalidTokenError("unknown role")
        return Principal(
            user_id=claims["sub"],
            email=claims.get("email", ""),
            name=claims.get("name", ""),
            role=role,
            outlets=list(claims.get("outlets", [])),
            token=token,
        )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing bearer token: log in at /api/identity/login")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(token.strip())
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired: log in again") from None
    except (jwt.InvalidTokenError, ValueError):
        raise _unauthorized("invalid token") from None


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):
    """Dependency: the caller must hold one of `roles` (admin always passes)."""

    def check(principal: CurrentUser) -> Principal:
        if principal.role != "admin" and principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {', '.join(roles)}")
        return principal

    return check


Cashier = Annotated[Principal, Depends(require_roles("cashier", "manager"))]
Manager = Annotated[Principal, Depends(require_roles("manager"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def ensure_outlet(principal: Principal, outlet_id: str) -> None:
    """Object-level check: another outlet's objects do not exist for this caller."""
    if not principal.may_access(outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "outlet not found")
