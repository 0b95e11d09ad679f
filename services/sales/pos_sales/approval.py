"""Manager approval for refunds, voids and large discounts.

An action is approved when the caller is a manager (or admin) of the outlet, or when the
request carries a manager's approval token: identity issues one when the manager enters
their PIN at the till (POST /api/identity/approvals, ADR 0040), bound to the action, the
outlet, the subject (the sale or cart id) and the requesting cashier. The till sends it
in the X-Approval-Token header or in the body's `approved_by`. It is verified locally
with identity's public key, and used once: its `jti` is recorded in the same transaction
as the action it approved (repeating the same action with it, a retry, is allowed).

The use cases never see the HTTP request: the route builds an `ApprovalPort` (the token
the request carries, and the verifier), see `pos_sales.web.approvals` (ADR 0074).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pos_platform.auth import APPROVAL_HEADER, ApprovalError, Principal, TokenVerifier, approval_jti
from pos_platform.db import UnitOfWork, utcnow
from pos_sales.tables import used_approvals

APPROVER_ROLES = ("manager", "admin")


class ApprovalRequired(Exception):
    """The action needs a manager; the message says what to do."""


class ApprovalPort(Protocol):
    """What a use case needs to check a manager's approval: the approval token the till
    sent (None: none), and its verification for one action."""

    @property
    def token(self) -> str | None: ...

    def verify(self, token: str, *, action: str, outlet_id: str, subject: str, requested_by: str) -> Principal:
        """The approving manager, or ApprovalError."""
        ...


@dataclass(frozen=True)
class ApprovalTokens:
    """The port as the routes build it: the token from the body's `approved_by` or the
    X-Approval-Token header, verified locally with identity's public key."""

    token: str | None
    verifier: TokenVerifier

    def verify(self, token: str, *, action: str, outlet_id: str, subject: str, requested_by: str) -> Principal:
        return self.verifier.verify_approval(
            token, action=action, outlet_id=outlet_id, subject=subject, requested_by=requested_by
        )


@dataclass(frozen=True)
class Approval:
    user_id: str  # the approving manager
    jti: str | None = None  # the approval token's id (None: the caller is the manager)


def approve(approvals: ApprovalPort, principal: Principal, *, action: str, outlet_id: str, subject: str) -> Approval:
    """The approval of `action` on `subject` at `outlet_id`, or ApprovalRequired."""
    if principal.role in APPROVER_ROLES and principal.may_access(outlet_id):
        return Approval(principal.user_id)
    token = approvals.token
    if not token:
        raise ApprovalRequired(
            f"{action} needs a manager's approval: the manager enters their PIN (POST /api/identity/approvals "
            f"with action {action!r}) and the till sends the approval token in {APPROVAL_HEADER}"
        )
    try:
        manager = approvals.verify(
            token.strip(), action=action, outlet_id=outlet_id, subject=subject, requested_by=principal.user_id
        )
    except ApprovalError as exc:
        raise ApprovalRequired(f"manager approval required for {action}: {exc}") from None
    return Approval(manager.user_id, approval_jti(manager.token))


def record_use(uow: UnitOfWork, approval: Approval, *, action: str, used_for: str) -> None:
    """Mark the approval token used, in the transaction of the action it approves;
    `used_for` is the id of what it made (the sale, refund or void): a retry of that same
    request may present the token again, nothing else may."""
    if approval.jti is None:
        return
    try:
        with uow.session.begin_nested():
            uow.session.execute(
                used_approvals.insert().values(
                    jti=approval.jti, action=action, used_for=used_for, approver_id=approval.user_id, used_at=utcnow()
                )
            )
    except IntegrityError:
        used = uow.session.execute(
            select(used_approvals.c.action, used_approvals.c.used_for).where(used_approvals.c.jti == approval.jti)
        ).first()
        if used is None or (used.action, used.used_for) != (action, used_for):
            raise ApprovalRequired(f"this approval was already used: ask the manager to approve the {action} again") from None
