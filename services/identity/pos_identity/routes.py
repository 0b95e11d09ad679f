from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pos_contracts.events import OutletCreated, UserChanged
from pos_identity.config import Settings
from pos_identity.domain import hash_password, issue_access_token, password_problem, verify_password
from pos_identity.schemas import LoginRequest, OutletIn, OutletOut, TokenResponse, UserIn, UserOut
from pos_identity.tables import outlets, users
from pos_platform.app import ServiceContext
from pos_platform.auth import Admin, CurrentUser
from pos_platform.db import utcnow

router = APIRouter(prefix="/api/identity", tags=["identity"])

# Verifying against a fixed dummy hash when the user is unknown keeps login time the
# same for unknown and known emails (no user enumeration by timing).
_DUMMY_HASH = hash_password("not-a-real-password-at-all")


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


def _user_out(row: Any) -> UserOut:
    return UserOut(id=row.id, email=row.email, name=row.name, role=row.role, outlets=list(row.outlets), active=row.active)


@router.post("/login", response_model=TokenResponse)
def login(body: LoginRequest, request: Request) -> TokenResponse:
    ctx = _ctx(request)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    with ctx.db.transaction() as uow:
        row = uow.session.execute(select(users).where(users.c.email == body.email.lower())).first()
    ok = verify_password(row.password_hash if row else _DUMMY_HASH, body.password)
    if row is None or not ok or not row.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = issue_access_token(
        private_key_pem=Path(settings.jwt_private_key_file).read_text(),
        user_id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        outlets=list(row.outlets),
        ttl_seconds=settings.access_token_ttl_seconds,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    return TokenResponse(access_token=token, expires_in=settings.access_token_ttl_seconds, user=_user_out(row))


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(request: Request) -> str:
    """The PEM public key every service verifies access tokens with."""
    return Path(_ctx(request).settings.jwt_public_key_file).read_text()


@router.get("/me", response_model=UserOut)
def me(principal: CurrentUser, request: Request) -> UserOut:
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(users).where(users.c.id == principal.user_id)).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    return _user_out(row)


@router.get("/outlets", response_model=list[OutletOut])
def list_outlets(principal: CurrentUser, request: Request) -> list[OutletOut]:
    query = select(outlets).order_by(outlets.c.name)
    if not principal.is_admin:
        query = query.where(outlets.c.id.in_(principal.outlets))
    with _ctx(request).db.transaction() as uow:
        rows = uow.session.execute(query).all()
    return [OutletOut(id=r.id, name=r.name, currency=r.currency, timezone=r.timezone) for r in rows]


@router.post("/outlets", response_model=OutletOut, status_code=status.HTTP_201_CREATED)
def create_outlet(body: OutletIn, _admin: Admin, request: Request) -> OutletOut:
    outlet = OutletOut(id=str(uuid.uuid4()), name=body.name, currency=body.currency, timezone=body.timezone)
    try:
        with _ctx(request).db.transaction() as uow:
            uow.session.execute(outlets.insert().values(**outlet.model_dump(), created_at=utcnow()))
            uow.publish(OutletCreated(outlet_id=outlet.id, name=outlet.name, currency=outlet.currency, timezone=outlet.timezone), outlet_id=outlet.id)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"an outlet named {body.name!r} already exists") from None
    return outlet


@router.get("/users", response_model=list[UserOut])
def list_users(_admin: Admin, request: Request) -> list[UserOut]:
    with _ctx(request).db.transaction() as uow:
        rows = uow.session.execute(select(users).order_by(users.c.email)).all()
    return [_user_out(r) for r in rows]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, _admin: Admin, request: Request) -> UserOut:
    problem = password_problem(body.password)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, problem)
    ctx = _ctx(request)
    try:
        with ctx.db.transaction() as uow:
            known = set(uow.session.scalars(select(outlets.c.id).where(outlets.c.id.in_(body.outlets))))
            unknown = sorted(set(body.outlets) - known)
            if unknown:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"unknown outlet ids: {', '.join(unknown)}")
            user = create_user_row(uow, email=body.email, name=body.name, password=body.password, role=body.role, outlet_ids=body.outlets)
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"a user with email {body.email!r} already exists") from None
    return user


def create_user_row(uow: Any, *, email: str, name: str, password: str, role: str, outlet_ids: list[str]) -> UserOut:
    now = utcnow()
    user = UserOut(id=str(uuid.uuid4()), email=email.lower(), name=name, role=role, outlets=outlet_ids, active=True)  # type: ignore[arg-type]
    uow.session.execute(
        users.insert().values(**user.model_dump(), password_hash=hash_password(password), created_at=now, updated_at=now)
    )
    uow.publish(UserChanged(user_id=user.id, email=user.email, name=user.name, role=user.role, outlets=user.outlets, active=True))
    return user


def count_users(uow: Any) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(users)) or 0)
