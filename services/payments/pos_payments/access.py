"""Who may call payments: staff with an access token, or another POS service with the
shared internal token (sales' reconciler works with no user at hand)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from pos_platform.auth import Principal, current_principal

SERVICE_TOKEN_HEADER = "X-POS-Service-Token"
STAFF_ROLES = ("cashier", "manager", "admin")


def staff_or_service(request: Request) -> Principal:
    """A cashier, manager or admin token, or the internal service token (which may see
    every outlet: it acts for the system, not for a person)."""
    presented = request.headers.get(SERVICE_TOKEN_HEADER)
    if presented is not None:
        expected = request.app.state.ctx.settings.internal_api_token
        if expected and hmac.compare_digest(presented.encode(), expected.encode()):
            return Principal(user_id="service", name="POS service", role="admin", outlets=[])
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid service token")
    principal = current_principal(request)
    if principal.role not in STAFF_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: cashier, manager")
    return principal


# Read by the authorization matrix test (tests/security): what the endpoint allows.
staff_or_service.allowed_roles = frozenset(STAFF_ROLES)  # type: ignore[attr-defined]

StaffOrService = Annotated[Principal, Depends(staff_or_service)]
