"""Access tokens and manager approvals: verified locally by every service with
identity's public key.

The accepted algorithm list is fixed (EdDSA only): a token signed with `none` or with
HS256 using the public key as a secret is refused. Approval tokens (identity's
`POST /api/identity/approvals`) carry another audience, so neither kind of token is
ever accepted as the other; see `verify_approval` and docs/security.md.
"""

from __future__ import annotations

import functools
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import jwt
from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sqlalchemy import Select

Q = TypeVar("Q", bound="Select[Any]")

ALGORITHMS = ["EdDSA"]
ROLES = ("cashier", "manager", "admin")
# Actions a manager approves by PIN at the till (identity refuses any other).
APPROVAL_ACTIONS = ("refund", "void", "no_sale", "discount", "price_override")
APPROVAL_TOKEN_USE = "approval"
# Access tokens remembered once verified (each entry a few hundred bytes).
VERIFIED_TOKENS_KEPT = 4096
# Where a till sends an approval token along with the request it approves.
APPROVAL_HEADER = "X-Approval-Token"


def approval_audience(audience: str) -> str:
    """Audience of approval tokens: never the access-token audience."""
    return f"{audience}:approval"


class ApprovalError(Exception):
    """An approval token that does not approve this action here (the reason says why)."""


class Principal(BaseModel):
    # Frozen: one verified token's Principal is shared by every request that sends it.
    model_config = ConfigDict(frozen=True)

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

    def where_visible(self, query: Q, outlet_column: Any, requested: str | None = None) -> Q:
        """`query` narrowed to the outlets it may cover (visible_outlets): the one asked
        for (404 when it is not the caller's), else the caller's; an admin's unchanged."""
        outlets = self.visible_outlets(requested)
        return query if outlets is None else query.where(outlet_column.in_(outlets))


class TokenVerifier:
    def __init__(self, public_key_file: str, audience: str, issuer: str) -> None:
        self.public_key_file = public_key_file
        self.audience = audience
        self.issuer = issuer
        self._key: str | None = None
        self._lock = threading.Lock()
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def _public_key(self) -> str:
        # Loaded on first use: in embedded mode identity writes the key pair at start-up.
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = Path(self.public_key_file).read_text()
        return self._key

    def verify(self, token: str) -> Principal:
        """The caller of an access token. A till sends the same token with every request
        until it expires: a token verified once is remembered (by its exact text, with
        its expiry, so an expired one is refused as before) instead of checking its
        signature again on every request of every service."""
        now = time.time()
        with self._lock:
            known = self._verified.get(token)
            if known is not None:
                self._verified.move_to_end(token)
        if known is not None:
            principal, expires = known
            if now < expires:
                return principal
            with self._lock:
                self._verified.pop(token, None)
            raise jwt.ExpiredSignatureError("Signature has expired")
        principal, expires = self._verify_signed(token)
        with self._lock:
            self._verified[token] = (principal, expires)
            while len(self._verified) > VERIFIED_TOKENS_KEPT:
                self._verified.popitem(last=False)
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, float]:
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
        if claims.get("token_use", "access") != "access":
            raise jwt.InvalidTokenError("not an access token")
        principal = Principal(
            user_id=claims["sub"],
            email=claims.get("email", ""),
            name=claims.get("name", ""),
            role=role,
            outlets=list(claims.get("outlets", [])),
            token=token,
        )
        return principal, float(claims["exp"])

    def verify_approval(
        self, token: str, *, action: str, outlet_id: str, subject: str | None = None, requested_by: str | None = None
    ) -> Principal:
        """The approving manager, if `token` approves `action` at `outlet_id` (and, when
        given, for `subject`, e.g. the sale id, requested by `requested_by`, the user id
        of the caller). Raises ApprovalError otherwise. Single use is the caller's job:
        store `jti` (Principal.token holds the token) with what it approved."""
        try:
            claims = jwt.decode(
                token,
                self._public_key(),
                algorithms=ALGORITHMS,
                audience=approval_audience(self.audience),
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "jti", "action", "outlet_id"]},
            )
        except jwt.ExpiredSignatureError:
            raise ApprovalError("approval expired: ask the manager again") from None
        except (jwt.InvalidTokenError, ValueError):
            raise ApprovalError("invalid approval token") from None
        if claims.get("token_use") != APPROVAL_TOKEN_USE:
            raise ApprovalError("not an approval token")
        if claims["action"] != action:
            raise ApprovalError(f"the approval is for {claims['action']!r}, not {action!r}")
        if claims["outlet_id"] != outlet_id:
            raise ApprovalError("the approval is for another outlet")
        if subject is not None and claims.get("subject") not in (None, subject):
            raise ApprovalError("the approval is for another object")
        if requested_by is not None and claims.get("requested_by") != requested_by:
            raise ApprovalError("the approval was given to another user")
        if claims.get("role") not in ("manager", "admin"):
            raise ApprovalError("the approver is not a manager")
        approver = Principal(
            user_id=claims["sub"],
            name=claims.get("name", ""),
            role=claims["role"],
            outlets=list(claims.get("outlets", [])),
            token=token,
        )
        if not approver.may_access(outlet_id):
            raise ApprovalError("the approver may not approve at this outlet")
        return approver


def approval_jti(token: str) -> str:
    """The unique id of an already verified approval token (to record it as used)."""
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def verify_approval(
    request: Request,
    token: str | None,
    action: str,
    outlet_id: str,
    *,
    subject: str | None = None,
    requested_by: str | None = None,
) -> Principal:
    """For route handlers: the approving manager, or 403 "manager approval required".

    `token` is usually `request.headers.get(APPROVAL_HEADER)`. Example (a refund)::

        approver = verify_approval(request, request.headers.get(APPROVAL_HEADER), "refund",
                                   sale.outlet_id, subject=sale.id, requested_by=principal.user_id)
    """
    if not token:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"manager approval required for {action}")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify_approval(token, action=action, outlet_id=outlet_id, subject=subject, requested_by=requested_by)
    except ApprovalError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"manager approval required for {action}: {exc}") from None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def principal_of(request: Request) -> Principal:
    """The caller named by the request's bearer token, or a 401 that says what to do."""
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


async def current_principal(request: Request) -> Principal:
    """Dependency: the logged-in caller. The checks here and below are `async def` on
    purpose: they do no I/O (a token already verified is remembered), and FastAPI runs a
    plain `def` dependency in a worker thread, a hand-off per dependency per request
    (docs/performance.md, "Authentication on the event loop")."""
    return principal_of(request)


CurrentUser = Annotated[Principal, Depends(current_principal)]


class RoleCheck:
    """A dependency that lets `allowed_roles` in, carrying them where the OpenAPI document
    (pos_platform.openapi) and the authorization matrix test (tests/security) read what
    each endpoint allows. FastAPI reads the wrapped check's signature (`__wrapped__`)."""

    def __init__(self, check: Callable[..., Awaitable[Principal]], allowed_roles: Iterable[str]) -> None:
        functools.update_wrapper(self, check)
        self._check = check
        self.allowed_roles = frozenset(allowed_roles)

    def __call__(self, *args: Any, **kwargs: Any) -> Awaitable[Principal]:
        return self._check(*args, **kwargs)


def require_roles(*roles: str) -> RoleCheck:
    """Dependency: the caller must hold one of `roles` (admin always passes)."""

    async def check(principal: CurrentUser) -> Principal:
        if principal.role != "admin" and principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {', '.join(roles)}")
        return principal

    return RoleCheck(check, {*roles, "admin"})


Cashier = Annotated[Principal, Depends(require_roles("cashier", "manager"))]
Manager = Annotated[Principal, Depends(require_roles("manager"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


SERVICE_TOKEN_HEADER = "X-POS-Service-Token"
STAFF_ROLES = ("cashier", "manager", "admin")


async def _staff_or_service(request: Request) -> Principal:
    """A cashier, manager or admin token, or the internal service token
    (`POS_INTERNAL_API_TOKEN` in `X-POS-Service-Token`), which may see every outlet: it
    acts for the system, not for a person (sales' reconciler releasing a reservation,
    asking payments about a payment)."""
    presented = request.headers.get(SERVICE_TOKEN_HEADER)
    if presented is not None:
        expected = getattr(request.app.state.ctx.settings, "internal_api_token", "")
        if expected and hmac.compare_digest(presented.encode(), expected.encode()):
            return Principal(user_id="service", name="POS service", role="admin", outlets=[])
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid service token")
    principal = principal_of(request)
    if principal.role not in STAFF_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: cashier, manager")
    return principal


staff_or_service = RoleCheck(_staff_or_service, STAFF_ROLES)

StaffOrService = Annotated[Principal, Depends(staff_or_service)]


def ensure_outlet(principal: Principal, outlet_id: str) -> None:
    """Object-level check: another outlet's objects do not exist for this caller."""
    if not principal.may_access(outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "outlet not found")
