"""Users, their lockout counters and their refresh tokens: the identity database's
repository functions (each runs in the caller's unit of work)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from pos_contracts.events import UserChanged
from pos_identity.config import Settings
from pos_identity.domain import hash_password, new_refresh_secret, refresh_hash
from pos_identity.schemas import UserOut
from pos_identity.tables import refresh_tokens, users
from pos_platform.db import UnitOfWork, utcnow


def user_out(row: Any, now: datetime | None = None) -> UserOut:
    now = now or utcnow()
    locked = row.locked_until if row.locked_until is not None and row.locked_until > now else None
    return UserOut(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        outlets=list(row.outlets),
        active=row.active,
        has_pin=row.pin_hash is not None,
        locked_until=locked,
    )


def get_user(uow: UnitOfWork, user_id: str) -> Any | None:
    return uow.session.execute(select(users).where(users.c.id == user_id)).first()


def find_by_email(uow: UnitOfWork, email: str) -> Any | None:
    return uow.session.execute(select(users).where(users.c.email == email.lower())).first()


def count_users(uow: UnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(users)) or 0)


def count_active_admins(uow: UnitOfWork) -> int:
    query = select(func.count()).select_from(users).where(users.c.role == "admin", users.c.active.is_(True))
    return int(uow.session.scalar(query) or 0)


def create_user_row(
    uow: UnitOfWork, *, email: str, name: str, password: str, role: str, outlet_ids: list[str], pin: str | None = None
) -> UserOut:
    now = utcnow()
    user_id = str(uuid.uuid4())
    uow.session.execute(
        users.insert().values(
            id=user_id,
            email=email.lower(),
            name=name,
            role=role,
            outlets=list(outlet_ids),
            active=True,
            password_hash=hash_password(password),
            pin_hash=hash_password(pin) if pin else None,
            failed_logins=0,
            failed_pins=0,
            created_at=now,
            updated_at=now,
        )
    )
    row = get_user(uow, user_id)
    publish_user_changed(uow, row)
    return user_out(row, now)


def publish_user_changed(uow: UnitOfWork, row: Any) -> None:
    uow.publish(
        UserChanged(user_id=row.id, email=row.email, name=row.name, role=row.role, outlets=list(row.outlets), active=row.active)
    )


# --- lockout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Counter:
    """One failure counter of a user: the password's or the PIN's."""

    failures: Any
    locked_until: Any
    max_failures: int
    lockout_seconds: int


def password_counter(settings: Settings) -> Counter:
    return Counter(users.c.failed_logins, users.c.locked_until, settings.login_max_failures, settings.login_lockout_seconds)


def pin_counter(settings: Settings) -> Counter:
    return Counter(users.c.failed_pins, users.c.pin_locked_until, settings.pin_max_failures, settings.pin_lockout_seconds)


def locked(row: Any, counter: Counter, now: datetime) -> bool:
    until = getattr(row, counter.locked_until.name)
    return until is not None and until > now


def count_failure(uow: UnitOfWork, user_id: str, counter: Counter, now: datetime) -> datetime | None:
    """One more failure; when it reaches the limit the account is locked (and the count
    starts again). Returns the lock's end if this failure locked it."""
    where = users.c.id == user_id
    # An UPDATE of the row first: it holds the row lock, so parallel failures all count.
    uow.session.execute(update(users).where(where).values({counter.failures: counter.failures + 1}))
    failures = uow.session.scalar(select(counter.failures).where(where)) or 0
    if failures < counter.max_failures:
        return None
    until = now + timedelta(seconds=counter.lockout_seconds)
    uow.session.execute(update(users).where(where).values({counter.failures: 0, counter.locked_until: until}))
    return until


def clear_failures(uow: UnitOfWork, user_id: str, counter: Counter) -> None:
    uow.session.execute(update(users).where(users.c.id == user_id).values({counter.failures: 0, counter.locked_until: None}))


# --- refresh tokens ----------------------------------------------------------------------


class RefreshRefused(Exception):
    def __init__(self, reason: str, row: Any | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row


def start_family(uow: UnitOfWork, user_id: str, settings: Settings, now: datetime) -> str:
    """A new refresh-token family (at log-in); returns the cookie's secret."""
    family_end = now + timedelta(seconds=settings.refresh_family_max_seconds)
    return _insert_token(uow, user_id, str(uuid.uuid4()), family_end, settings, now)


def _insert_token(uow: UnitOfWork, user_id: str, family_id: str, family_end: datetime, settings: Settings, now: datetime) -> str:
    secret, digest = new_refresh_secret()
    uow.session.execute(
        refresh_tokens.insert().values(
            id=str(uuid.uuid4()),
            token_hash=digest,
            family_id=family_id,
            user_id=user_id,
            created_at=now,
            expires_at=min(now + timedelta(seconds=settings.refresh_token_ttl_seconds), family_end),
            family_expires_at=family_end,
        )
    )
    return secret


def find_token(uow: UnitOfWork, secret: str) -> Any | None:
    return uow.session.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == refresh_hash(secret))).first()


def rotate(uow: UnitOfWork, secret: str, settings: Settings, now: datetime) -> tuple[Any, str]:
    """Use a refresh token once: (its row, the next secret of the same family). A token
    already used means it was copied: the whole family is revoked (reuse detection)."""
    row = find_token(uow, secret)
    if row is None:
        raise RefreshRefused("unknown")
    if row.revoked_at is not None:
        raise RefreshRefused("revoked", row)
    if row.expires_at <= now:
        raise RefreshRefused("expired", row)
    # Conditional: of two requests racing with one token, exactly one wins.
    won = uow.session.execute(
        update(refresh_tokens).where(refresh_tokens.c.id == row.id, refresh_tokens.c.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if won != 1:
        revoke_family(uow, row.family_id, "reuse", now)
        raise RefreshRefused("reused", row)
    return row, _insert_token(uow, row.user_id, row.family_id, row.family_expires_at, settings, now)


def revoke_family(uow: UnitOfWork, family_id: str, reason: str, now: datetime) -> int:
    return uow.session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    ).rowcount


def revoke_user_tokens(uow: UnitOfWork, user_id: str, reason: str, now: datetime, *, keep_family: str | None = None) -> int:
    """Ends every session of a user, except the family `keep_family` when given (the
    caller's own session, on a password change). Returns the tokens revoked."""
    where = [refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None)]
    if keep_family is not None:
        where.append(refresh_tokens.c.family_id != keep_family)
    return uow.session.execute(update(refresh_tokens).where(*where).values(revoked_at=now, revoked_reason=reason)).rowcount
