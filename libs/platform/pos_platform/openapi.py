"""What every operation of a service can answer besides its own success, written into
its OpenAPI document from the route itself (its dependencies, its path, its body), so
the document lists the status codes a client really meets:

- 401 when the route needs a token (it depends on `current_principal`, a role check or
  `staff_or_service`);
- 403 when that check refuses some roles (`Manager`, `Admin`): a route any logged-in
  user may call never answers 403 for its role;
- 404 when the path has a parameter (an id that does not exist, or belongs to another
  outlet: `pos_platform.auth.ensure_outlet`), or a logged-in route names an outlet in its
  query or body (`outlet_id`: one that does not exist or is not the caller's);
- 413 when the operation takes a body (the gateway's body limit);
- 503 on every operation (the database is restarting: `Retry-After`; or, through the
  gateway, the service itself is down).

Codes a route raises itself (a 409, a 402, ...) are declared on the route with
`errors({409: "..."})`; a declaration on the route always wins over these rules."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from pos_platform.auth import ROLES, RoleCheck, current_principal

# Every error the services raise themselves: {"detail": "<a sentence a person can act on>"}.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}

RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "seconds to wait before trying again (sent when the database is unavailable)",
    "schema": {"type": "integer", "minimum": 0},
}

PATH_PARAMETER = re.compile(r"\{[^}]+\}")
OUTLET_PARAMETER = "outlet_id"


def error(description: str, **extra: Any) -> dict[str, Any]:
    """One error response: a sentence in `detail`."""
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}, **extra}


def errors(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the errors a route raises itself, each with a short
    description: `responses=errors({404: "no such sale", 409: "the sale has no receipt"})`."""
    return {code: error(description) for code, description in codes.items()}


# The gateway rate-limits log-in and PIN attempts (gateway/nginx.conf.template).
TOO_MANY_REQUESTS: dict[int | str, dict[str, Any]] = errors(
    {429: "too many attempts from this address: slow down (the gateway's rate limit)"}
)


def auth_of(dependant: Dependant) -> tuple[bool, frozenset[str] | None]:
    """(needs a token, the roles it lets in or None for every role) from a route's
    dependencies: a RoleCheck carries `allowed_roles` (`require_roles`,
    `staff_or_service`), `current_principal` lets in every role."""
    authenticated = False
    roles: frozenset[str] | None = None
    stack = [dependant]
    while stack:
        current = stack.pop()
        if isinstance(current.call, RoleCheck):
            authenticated = True
            allowed = current.call.allowed_roles
            roles = allowed if roles is None else roles & allowed
        elif current.call is current_principal:
            authenticated = True
        stack.extend(current.dependencies)
    if roles is not None and roles >= set(ROLES):
        roles = None
    return authenticated, roles


def names_an_outlet(dependant: Dependant, body_field: Any) -> bool:
    """The operation takes an `outlet_id` in its query or at the top of its body."""
    stack = [dependant]
    while stack:
        current = stack.pop()
        if any(param.alias == OUTLET_PARAMETER for param in current.query_params):
            return True
        stack.extend(current.dependencies)
    model = getattr(body_field, "type_", None) or getattr(getattr(body_field, "field_info", None), "annotation", None)
    return OUTLET_PARAMETER in getattr(model, "model_fields", {})


def rule_responses(path: str, dependant: Dependant, has_body: bool, body_field: Any = None) -> dict[str, dict[str, Any]]:
    """The responses the rules above give one operation."""
    found: dict[str, dict[str, Any]] = {}
    authenticated, roles = auth_of(dependant)
    if authenticated:
        found["401"] = error(
            "no valid token: missing, expired or invalid (log in at /api/identity/login)",
            headers={"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
        )
    if roles is not None:
        found["403"] = error(f"the caller's role may not do this (allowed: {', '.join(sorted(roles))})")
    if PATH_PARAMETER.search(path):
        found["404"] = error("not found: no such object here, or it belongs to an outlet the caller cannot see")
    elif authenticated and names_an_outlet(dependant, body_field):
        found["404"] = error("outlet not found: it does not exist, or is not one of the caller's")
    if has_body:
        found["413"] = error("request body too large (the gateway's limit)")
    found["503"] = error(
        "unavailable for a moment (the database is restarting, or the service is down): try again",
        headers={"Retry-After": RETRY_AFTER_HEADER},
    )
    return found


def document_responses(app: FastAPI) -> None:
    """Add the rule-derived responses to every operation of `app`'s document (once)."""
    generate = app.openapi
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if done:
            return document
        paths = document.get("paths", {})
        for context in iter_route_contexts(app.routes):
            if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
                continue
            path = context.path_format or ""
            for method in context.methods or ():
                operation = paths.get(path, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                has_body = "requestBody" in operation
                for code, response in rule_responses(path, context.dependant, has_body, context.body_field).items():
                    declared = responses.setdefault(code, response)
                    if code == "503" and "headers" not in declared:
                        # A route's own 503 (a hop down) can also be the database's
                        # (a route that never sends Retry-After declares its headers).
                        declared["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
                operation["responses"] = dict(sorted(responses.items()))
        done.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing app.openapi to change the document
