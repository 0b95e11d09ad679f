"""Manager approval for refunds, voids and large discounts.

Until identity offers approval by PIN (issue 6), an approval is either the caller
being a manager (or admin) of the outlet, or `approved_by`: a manager's own access
token, handed over at the till (the manager logs in on the till for the moment). The
token is verified like any other (signature, audience, expiry) and must carry a manager
or admin role with access to the outlet. The approver's user id is recorded.
"""

from __future__ import annotations

from fastapi import Request

from pos_platform.auth import Principal, TokenVerifier

APPROVER_ROLES = ("manager", "admin")


class ApprovalRequired(Exception):
    """The action needs a manager; the message says what to do."""


def approver_of(request: Request, principal: Principal, outlet_id: str, approved_by: str | None, action: str) -> str:
    """The user id of the manager approving `action`, or ApprovalRequired."""
    if principal.role in APPROVER_ROLES and principal.may_access(outlet_id):
        return principal.user_id
    if not approved_by:
        raise ApprovalRequired(f"{action} needs a manager's approval: send approved_by (a manager's access token) or ask a manager to do it")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        manager = verifier.verify(approved_by.strip())
    except Exception:  # any invalid token is just "not approved"
        raise ApprovalRequired(f"{action}: the approval token is not valid (expired or not a POS token)") from None
    if manager.role not in APPROVER_ROLES or not manager.may_access(outlet_id):
        raise ApprovalRequired(f"{action}: the approver must be a manager of this outlet")
    return manager.user_id
