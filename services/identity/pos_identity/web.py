"""What the identity routes share: the service context, the signing key, the refresh
cookie, and who is asking from where (for the audit log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response, status

from pos_identity import audit
from pos_identity.config import Settings
from pos_platform.app import ServiceContext, service_context
from pos_platform.auth import Principal
from pos_platform.db import UnitOfWork

COOKIE_PATH = "/api/identity"


def ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def settings_of(request: Request) -> Settings:
    return ctx(request).settings


def private_key(request: Request) -> str:
    # Read per token: a rotated key file is picked up without a restart.
    return Path(settings_of(request).jwt_private_key_file).read_text()


def set_refresh_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        settings.refresh_cookie_name,
        secret,
        max_age=settings.refresh_token_ttl_seconds,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        settings.refresh_cookie_name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=settings.cookie_secure
    )


def refresh_secret(request: Request) -> str | None:
    value = request.cookies.get(settings_of(request).refresh_cookie_name)
    # A real secret is 43 characters; anything much longer is not worth hashing.
    return value if value and len(value) <= 128 else None


def audit_record(uow: UnitOfWork, request: Request, action: str, *, actor: Principal | Any | None = None, **fields: Any) -> int:
    """An audit entry with the caller's address and user agent; `actor` is a Principal
    or a users row."""
    details = dict(fields.pop("details", None) or {})
    agent = request.headers.get("user-agent")
    if agent:
        details.setdefault("user_agent", agent[:200])
    if actor is not None:
        fields.setdefault("actor_id", getattr(actor, "user_id", None) or getattr(actor, "id", None))
        fields.setdefault("actor_email", actor.email or None)
        fields.setdefault("actor_role", actor.role)
    return audit.record(uow, action, source_ip=request.client.host if request.client else None, details=details, **fields)


def unprocessable(field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors (what the OpenAPI document
    promises for 422), for rules a schema cannot express."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["body", field], "msg": message, "type": "value_error"}])
