"""Sessions: log-in, refresh, log-out, quick switch and manager approval by PIN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import PlainTextResponse
from sqlalchemy import select, update

from pos_identity import accounts
from pos_identity.domain import (
    hash_password,
    issue_access_token,
    issue_approval_token,
    needs_rehash,
    password_problem,
    pin_problem,
    verify_password,
)
from pos_identity.schemas import (
    ApprovalOut,
    ApprovalRequest,
    LoginRequest,
    PasswordChange,
    PinChange,
    StaffOut,
    SwitchRequest,
    TokenResponse,
    UserOut,
)
from pos_identity.tables import users
from pos_identity.web import (
    audit_record,
    clear_refresh_cookie,
    ctx,
    private_key,
    refresh_secret,
    set_refresh_cookie,
    settings_of,
    unprocessable,
)
from pos_platform.auth import CurrentUser, ensure_outlet
from pos_platform.db import utcnow
from pos_platform.openapi import TOO_MANY_REQUESTS, errors

router = APIRouter(prefix="/api/identity", tags=["identity"])

# Verifying against a fixed dummy hash when the user is unknown keeps login time the
# same for unknown and known emails (no user enumeration by timing).
_DUMMY_HASH = hash_password("not-a-real-password-at-all")
# One answer for every failed log-in: unknown email, wrong password, disabled or locked.
LOGIN_FAILED = "wrong email or password, or too many attempts: try again later"
PIN_FAILED = "wrong PIN, or too many attempts: try again later"
UNAUTHORIZED_401 = {401: {"description": "Not logged in"}}
# The caller's own row, after their current password (_own_row_checked).
CURRENT_PASSWORD_WRONG = "your current password is not right (wrong ones count towards the account's lockout)"
PASSWORD_LOCKED = "too many wrong passwords, so the account is locked for a while"
OWN_ROW_CHECKED = errors(
    {403: f"{CURRENT_PASSWORD_WRONG}; or {PASSWORD_LOCKED}", 404: "the token's user no longer exists or is disabled"}
)


def _access_token(request: Request, row: Any) -> TokenResponse:
    settings = settings_of(request)
    token = issue_access_token(
        private_key_pem=private_key(request),
        user_id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        outlets=list(row.outlets),
        ttl_seconds=settings.access_token_ttl_seconds,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    return TokenResponse(access_token=token, expires_in=settings.access_token_ttl_seconds, user=accounts.user_out(row))


@router.post("/login", response_model=TokenResponse, responses=errors({401: LOGIN_FAILED}) | TOO_MANY_REQUESTS)
def login(body: LoginRequest, request: Request, response: Response) -> TokenResponse:
    """Email and password: an access token in the body and a refresh token in an
    httpOnly, SameSite=Strict cookie (path /api/identity)."""
    settings = settings_of(request)
    db = ctx(request).db
    email = body.email.lower()
    with db.transaction() as uow:
        row = accounts.find_by_email(uow, email)
    counter = accounts.password_counter(settings)
    now = utcnow()
    is_locked = row is not None and accounts.locked(row, counter, now)
    # While locked the password is not checked (guessing goes nowhere); the dummy hash
    # keeps the answer as slow as any other, so timing does not tell locked accounts.
    stored = row.password_hash if row is not None and not is_locked else _DUMMY_HASH
    ok = verify_password(stored, body.password) and not is_locked and row is not None
    if row is None or not ok or not row.active:
        with db.transaction() as uow:
            details: dict[str, Any] = {"email": email}
            locked_until = None
            if row is not None and not is_locked and not ok:
                locked_until = accounts.count_failure(uow, row.id, counter, now)
            reason = "unknown_email" if row is None else "locked" if is_locked else "disabled" if ok else "wrong_password"
            details["reason"] = reason
            audit_record(
                uow, request, "login", outcome="failure", actor_id=row.id if row else None, actor_email=email, details=details
            )
            if locked_until is not None:
                audit_record(
                    uow,
                    request,
                    "account.locked",
                    actor_id=row.id,
                    actor_email=email,
                    target_type="user",
                    target_id=row.id,
                    details={"until": locked_until.isoformat(), "after_failures": counter.max_failures},
                )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, LOGIN_FAILED)
    with db.transaction() as uow:
        accounts.clear_failures(uow, row.id, counter)
        if needs_rehash(row.password_hash):
            uow.session.execute(update(users).where(users.c.id == row.id).values(password_hash=hash_password(body.password)))
        secret = accounts.start_family(uow, row.id, settings, now)
        audit_record(uow, request, "login", actor=row)
        row = accounts.get_user(uow, row.id)
    set_refresh_cookie(response, settings, secret)
    return _access_token(request, row)


@router.post("/refresh", response_model=TokenResponse, responses=UNAUTHORIZED_401)
def refresh(request: Request, response: Response) -> TokenResponse:
    """A new access token for the refresh cookie, which is rotated. The token carries
    the user's role and outlets as they are now; a disabled user gets 401."""
    settings = settings_of(request)
    secret = refresh_secret(request)
    if secret is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no session: log in")
    now = utcnow()
    refused: accounts.RefreshRefused | None = None
    with ctx(request).db.transaction() as uow:
        try:
            token_row, new_secret = accounts.rotate(uow, secret, settings, now)
            row = accounts.get_user(uow, token_row.user_id)
            if row is None or not row.active:
                accounts.revoke_family(uow, token_row.family_id, "disabled", now)
                raise accounts.RefreshRefused("disabled", token_row)
        except accounts.RefreshRefused as exc:
            refused = exc
            if exc.reason == "reused":
                audit_record(
                    uow,
                    request,
                    "session.token_reuse",
                    outcome="failure",
                    actor_id=exc.row.user_id,
                    target_type="session",
                    target_id=exc.row.family_id,
                    details={"revoked": "family"},
                )
    if refused is not None:
        clear = Response(status_code=status.HTTP_401_UNAUTHORIZED)
        clear_refresh_cookie(clear, settings)
        # Only the cookie-clearing header: the error response sets its own length.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"session ended ({refused.reason}): log in again",
            headers={"set-cookie": clear.headers["set-cookie"]},
        )
    set_refresh_cookie(response, settings, new_secret)
    return _access_token(request, row)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request) -> Response:
    """Ends the session of the refresh cookie (its whole family) and clears the cookie."""
    settings = settings_of(request)
    secret = refresh_secret(request)
    if secret is not None:
        now = utcnow()
        with ctx(request).db.transaction() as uow:
            row = accounts.find_token(uow, secret)
            if row is not None and accounts.revoke_family(uow, row.family_id, "logout", now):
                audit_record(uow, request, "logout", actor_id=row.user_id, target_type="session", target_id=row.family_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, settings)
    return response


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(request: Request) -> str:
    """The PEM public key every service verifies access and approval tokens with."""
    return Path(settings_of(request).jwt_public_key_file).read_text()


@router.get("/me", response_model=UserOut, responses=UNAUTHORIZED_401 | errors({404: "the token's user no longer exists"}))
def me(principal: CurrentUser, request: Request) -> UserOut:
    with ctx(request).db.transaction() as uow:
        row = accounts.get_user(uow, principal.user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    return accounts.user_out(row)


def _own_row_checked(request: Request, principal: Any, current_password: str) -> Any:
    """The caller's row, after checking their current password. Failures count towards
    the log-in lockout, and a success clears the count, as at log-in; while locked the
    password is not checked. The caller is logged in, so the answer may say which."""
    settings = settings_of(request)
    db = ctx(request).db
    with db.transaction() as uow:
        row = accounts.get_user(uow, principal.user_id)
    if row is None or not row.active:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    counter = accounts.password_counter(settings)
    now = utcnow()
    is_locked = accounts.locked(row, counter, now)
    if is_locked or not verify_password(row.password_hash, current_password):
        locked_until = row.locked_until if is_locked else None
        with db.transaction() as uow:
            if not is_locked:
                locked_until = accounts.count_failure(uow, row.id, counter, now)
            audit_record(
                uow,
                request,
                "password.check",
                outcome="failure",
                actor=row,
                details={"reason": "locked" if is_locked else "wrong_password"},
            )
            if locked_until is not None and not is_locked:
                audit_record(
                    uow,
                    request,
                    "account.locked",
                    actor=row,
                    target_type="user",
                    target_id=row.id,
                    details={"until": locked_until.isoformat(), "after_failures": counter.max_failures},
                )
        if locked_until is not None:
            minutes = max(1, -(-int((locked_until - now).total_seconds()) // 60))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"{PASSWORD_LOCKED}: try again in {minutes} minute{'s' if minutes > 1 else ''}"
            )
        raise HTTPException(status.HTTP_403_FORBIDDEN, CURRENT_PASSWORD_WRONG)
    if row.failed_logins:
        with db.transaction() as uow:
            accounts.clear_failures(uow, row.id, counter)
    return row


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=OWN_ROW_CHECKED)
def change_password(body: PasswordChange, principal: CurrentUser, request: Request) -> Response:
    """Changes the caller's password. Every other session of theirs ends (other tills,
    phones, a session someone else may hold); the one whose refresh cookie came with
    this request stays logged in. Without that cookie, every session ends."""
    row = _own_row_checked(request, principal, body.current_password)
    if body.new_password == body.current_password:
        raise unprocessable("new_password", "the new password is the same as the current one: choose another")
    if problem := password_problem(body.new_password, email=row.email, name=row.name):
        raise unprocessable("new_password", problem)
    now = utcnow()
    with ctx(request).db.transaction() as uow:
        secret = refresh_secret(request)
        own = accounts.find_token(uow, secret) if secret else None
        keep = own.family_id if own is not None and own.user_id == row.id and own.revoked_at is None else None
        uow.session.execute(
            update(users).where(users.c.id == row.id).values(password_hash=hash_password(body.new_password), updated_at=now)
        )
        accounts.revoke_user_tokens(uow, row.id, "password_changed", now, keep_family=keep)
        audit_record(
            uow,
            request,
            "user.password_changed",
            actor=row,
            target_type="user",
            target_id=row.id,
            details={"kept_session": keep is not None},
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/me/pin", status_code=status.HTTP_204_NO_CONTENT, responses=OWN_ROW_CHECKED)
def change_pin(body: PinChange, principal: CurrentUser, request: Request) -> Response:
    """Sets the caller's PIN (for quick switching and, for managers, approvals)."""
    if problem := pin_problem(body.pin):
        raise unprocessable("pin", problem)
    row = _own_row_checked(request, principal, body.current_password)
    with ctx(request).db.transaction() as uow:
        uow.session.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(pin_hash=hash_password(body.pin), failed_pins=0, pin_locked_until=None, updated_at=utcnow())
        )
        audit_record(uow, request, "user.pin_changed", actor=row, target_type="user", target_id=row.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/outlets/{outlet_id}/staff", response_model=list[StaffOut], responses=UNAUTHORIZED_401)
def outlet_staff(outlet_id: str, principal: CurrentUser, request: Request) -> list[StaffOut]:
    """Who works at an outlet (for the till's quick switch and approval pickers)."""
    ensure_outlet(principal, outlet_id)
    with ctx(request).db.transaction() as uow:
        rows = uow.session.execute(select(users).where(users.c.active.is_(True)).order_by(users.c.name)).all()
    return [
        StaffOut(id=r.id, name=r.name, role=r.role, has_pin=r.pin_hash is not None)
        for r in rows
        if outlet_id in (r.outlets or [])
    ]


def _check_pin(request: Request, user_id: str, outlet_id: str, pin: str, action: str, audit_fields: dict[str, Any]) -> Any:
    """The active user `user_id` working at `outlet_id`, if `pin` is theirs; 403 otherwise
    (the same answer for every reason). Failures count towards the PIN lockout."""
    settings = settings_of(request)
    db = ctx(request).db
    with db.transaction() as uow:
        row = accounts.get_user(uow, user_id)
    counter = accounts.pin_counter(settings)
    now = utcnow()
    works_here = row is not None and row.active and (row.role == "admin" or outlet_id in (row.outlets or []))
    is_locked = row is not None and accounts.locked(row, counter, now)
    ok = works_here and not is_locked and verify_password(row.pin_hash or _DUMMY_HASH, pin) and row.pin_hash is not None
    if not ok:
        fields = dict(audit_fields)
        reason = "unknown_user" if not works_here else "locked" if is_locked else "wrong_pin"
        fields["details"] = {**fields.get("details", {}), "reason": reason}
        with db.transaction() as uow:
            locked_until = None
            if works_here and not is_locked:
                locked_until = accounts.count_failure(uow, row.id, counter, now)
            audit_record(uow, request, action, outcome="failure", actor_id=row.id if row else None, outlet_id=outlet_id, **fields)
            if locked_until is not None:
                audit_record(
                    uow,
                    request,
                    "account.pin_locked",
                    actor_id=row.id,
                    target_type="user",
                    target_id=row.id,
                    details={"until": locked_until.isoformat(), "after_failures": counter.max_failures},
                )
        raise HTTPException(status.HTTP_403_FORBIDDEN, PIN_FAILED)
    return row


@router.post("/switch", response_model=TokenResponse, responses=UNAUTHORIZED_401 | errors({403: PIN_FAILED}) | TOO_MANY_REQUESTS)
def switch_user(body: SwitchRequest, principal: CurrentUser, request: Request, response: Response) -> TokenResponse:
    """Quick cashier switch at a till: within a logged-in till session at the outlet,
    the next cashier's id and PIN give a session of their own; the previous one ends."""
    ensure_outlet(principal, body.outlet_id)
    settings = settings_of(request)
    audit_fields: dict[str, Any] = {"target_type": "user", "target_id": body.user_id, "details": {"from_user": principal.user_id}}
    row = _check_pin(request, body.user_id, body.outlet_id, body.pin, "session.switch", audit_fields)
    now = utcnow()
    with ctx(request).db.transaction() as uow:
        previous = refresh_secret(request)
        old = accounts.find_token(uow, previous) if previous else None
        if old is not None:
            accounts.revoke_family(uow, old.family_id, "switched", now)
        accounts.clear_failures(uow, row.id, accounts.pin_counter(settings))
        secret = accounts.start_family(uow, row.id, settings, now)
        audit_record(
            uow,
            request,
            "session.switch",
            actor=row,
            outlet_id=body.outlet_id,
            target_type="user",
            target_id=row.id,
            details={"from_user": principal.user_id},
        )
        row = accounts.get_user(uow, row.id)
    set_refresh_cookie(response, settings, secret)
    return _access_token(request, row)


@router.post(
    "/approvals",
    response_model=ApprovalOut,
    status_code=status.HTTP_201_CREATED,
    responses=UNAUTHORIZED_401 | errors({403: f"{PIN_FAILED}; or the approver is not a manager"}) | TOO_MANY_REQUESTS,
)
def approve(body: ApprovalRequest, principal: CurrentUser, request: Request) -> ApprovalOut:
    """A manager approves one action at the till with their PIN. The answer's
    approval_token is short-lived and signed; the service doing the action verifies it
    locally with pos_platform.auth.verify_approval (see docs/security.md)."""
    ensure_outlet(principal, body.outlet_id)
    settings = settings_of(request)
    request_details = {"action": body.action, "subject": body.subject, "amount_minor": body.amount_minor, "reason": body.reason}
    audit_fields: dict[str, Any] = {
        "target_type": "approval",
        "target_id": body.subject,
        "details": {**request_details, "requested_by": principal.user_id},
    }
    row = _check_pin(request, body.approver_id, body.outlet_id, body.pin, "approval", audit_fields)
    if row.role not in ("manager", "admin"):
        with ctx(request).db.transaction() as uow:
            audit_record(
                uow,
                request,
                "approval",
                outcome="failure",
                actor=row,
                outlet_id=body.outlet_id,
                target_type="approval",
                target_id=body.subject,
                details={**request_details, "requested_by": principal.user_id, "reason": "not_a_manager"},
            )
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a manager can approve")
    token, jti = issue_approval_token(
        private_key_pem=private_key(request),
        approver_id=row.id,
        approver_name=row.name,
        approver_role=row.role,
        approver_outlets=list(row.outlets),
        requested_by=principal.user_id,
        action=body.action,
        outlet_id=body.outlet_id,
        subject=body.subject,
        ttl_seconds=settings.approval_ttl_seconds,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    with ctx(request).db.transaction() as uow:
        accounts.clear_failures(uow, row.id, accounts.pin_counter(settings))
        audit_record(
            uow,
            request,
            "approval",
            actor=row,
            outlet_id=body.outlet_id,
            target_type="approval",
            target_id=body.subject,
            details={**request_details, "requested_by": principal.user_id, "jti": jti},
        )
    return ApprovalOut(
        approval_token=token,
        expires_in=settings.approval_ttl_seconds,
        action=body.action,
        outlet_id=body.outlet_id,
        subject=body.subject,
        approver=StaffOut(id=row.id, name=row.name, role=row.role, has_pin=True),
    )
