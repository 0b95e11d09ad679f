"""What the sales routes share between the HTTP request and the use cases (ADR 0074):
the approval port built from the request, and the answer of an outcome."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from pos_platform.auth import APPROVAL_HEADER, TokenVerifier
from pos_sales.approval import ApprovalTokens
from pos_sales.outcomes import Outcome, http_answer


def approvals(request: Request, approved_by: str | None) -> ApprovalTokens:
    """The manager's approval token the till sent: the body's `approved_by`, else the
    X-Approval-Token header; verified with the app's token verifier."""
    verifier: TokenVerifier = request.app.state.token_verifier
    return ApprovalTokens(approved_by or request.headers.get(APPROVAL_HEADER), verifier)


def answer(outcome: Outcome) -> JSONResponse:
    """The HTTP answer of a use case's outcome (status and body from `http_answer`)."""
    found = http_answer(outcome)
    return JSONResponse(found.body, status_code=found.status)
