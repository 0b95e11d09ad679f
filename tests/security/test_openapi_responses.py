"""Every service's OpenAPI document declares what each operation really answers (no
servers: the documents are built in process). The rules come from the route itself:
a token means 401, a role check that refuses some roles 403, an id in the path (or an
outlet in the query or body) 404, a body 413 (the gateway's limit), every operation 503;
and every status code an endpoint raises in its own code (HTTPException(409, ...), a
JSONResponse(status_code=402)) is declared. The schemathesis run on the stack
(test_schemathesis.py) checks the same documents against real answers."""

from __future__ import annotations

import ast
import inspect
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.security.world import ANY_ROLE, SERVICES, declared_roles, service_apps

_APPS: dict[str, FastAPI] = {}
_DOCUMENTS: dict[str, dict[str, Any]] = {}


def apps() -> dict[str, FastAPI]:
    if not _APPS:
        _APPS.update(service_apps(Path(tempfile.mkdtemp(prefix="pos-openapi-responses-"))))
        _DOCUMENTS.update({name: app.openapi() for name, app in _APPS.items()})
    return _APPS


def operations() -> Iterator[tuple[str, str, str, Any, dict[str, Any]]]:
    """(service, METHOD, path, route context, the operation in the document)."""
    for service, app in apps().items():
        document = _DOCUMENTS[service]
        for context in iter_route_contexts(app.routes):
            if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
                continue
            for method in sorted((context.methods or set()) - {"HEAD"}):
                yield service, method, context.path_format, context, document["paths"][context.path_format][method.lower()]


# A raised or returned status: HTTPException(status.HTTP_409_CONFLICT, ...), HTTPException(409, ...),
# JSONResponse(..., status_code=402), Response(status_code=status.HTTP_204_NO_CONTENT), and the
# services' problems turned into HTTPExceptions (ShiftProblem(409, ...), PaymentProblem(...)).
STATUS = re.compile(
    r"HTTPException\(\s*(?:status_code=)?(?:status\.HTTP_(\d{3})\w*|(\d{3}))"
    r"|status_code=(?:status\.HTTP_(\d{3})\w*|(\d{3}))\b"
    r"|[A-Z]\w*Problem\(\s*(\d{3})"
)


def _called_functions(function: Callable[..., Any], tree: ast.AST) -> Iterator[Callable[..., Any]]:
    """The project's functions `function` calls by name (`helper(...)`, `module.helper(...)`)."""
    module = sys.modules.get(function.__module__)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target: Any = None
        if isinstance(node.func, ast.Name):
            target = getattr(module, node.func.id, None)
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            owner = getattr(module, node.func.value.id, None)
            if inspect.ismodule(owner):
                target = getattr(owner, node.func.attr, None)
        if inspect.isfunction(target) and target.__module__.startswith("pos_"):
            yield target


def sources(function: Callable[..., Any], seen: set[Any] | None = None) -> Iterator[str]:
    """The source of `function` and of the project functions it calls (once each)."""
    seen = set() if seen is None else seen
    if function in seen:
        return
    seen.add(function)
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return
    yield source
    for called in _called_functions(function, ast.parse(source)):
        yield from sources(called, seen)


def raised_statuses(function: Callable[..., Any]) -> set[str]:
    """Status codes written in `function` and in the project functions it calls."""
    return {next(group for group in match.groups() if group) for source in sources(function) for match in STATUS.finditer(source)}


# What an endpoint answers besides JSON, by the response it builds.
MEDIA_TYPES = {"PlainTextResponse(": "text/plain", "HTMLResponse(": "text/html", 'media_type="text/csv': "text/csv"}


def answered_media_types(function: Callable[..., Any]) -> set[str]:
    return {media for source in sources(function) for marker, media in MEDIA_TYPES.items() if marker in source}


def _ids(rows: list[str]) -> str:
    return "\n  ".join(rows)


def test_the_walk_sees_every_service() -> None:
    assert {service for service, *_ in operations()} == set(SERVICES)


def test_every_logged_in_operation_declares_401_and_a_role_check_403() -> None:
    missing = []
    for service, method, path, context, operation in operations():
        roles = declared_roles(context.dependant)
        codes = operation["responses"]
        if roles is not None and "401" not in codes:
            missing.append(f"{service} {method} {path}: 401")
        if roles is not None and roles != ANY_ROLE and "403" not in codes:
            missing.append(f"{service} {method} {path}: 403 (allows only {sorted(roles)})")
    assert not missing, "undocumented:\n  " + _ids(missing)


def test_no_operation_declares_a_401_or_403_it_cannot_answer() -> None:
    """A route without a token never answers the token's 401; one any role may call
    never answers the role check's 403 (only a 403 of its own, declared on the route)."""
    wrong = []
    for service, method, path, context, operation in operations():
        roles = declared_roles(context.dependant)
        for code in ("401", "403"):
            response = operation["responses"].get(code)
            if response is None:
                continue
            if roles is None and "no valid token" in response["description"]:
                wrong.append(f"{service} {method} {path}: {code} {response['description']}")
            if code == "403" and roles == ANY_ROLE and "role may not" in response["description"]:
                wrong.append(f"{service} {method} {path}: {code} {response['description']}")
    assert not wrong, "declared but impossible:\n  " + _ids(wrong)


def test_every_operation_with_a_path_parameter_declares_404() -> None:
    missing = [f"{s} {m} {p}" for s, m, p, _c, op in operations() if "{" in p and "404" not in op["responses"]]
    assert not missing, "undocumented 404:\n  " + _ids(missing)


def test_every_operation_declares_503_with_retry_after_and_a_body_413() -> None:
    missing = []
    for service, method, path, _context, operation in operations():
        unavailable = operation["responses"].get("503")
        if unavailable is None:
            missing.append(f"{service} {method} {path}: 503")
        elif "Retry-After" not in unavailable.get("headers", {}) and not path.endswith("/readyz"):
            missing.append(f"{service} {method} {path}: 503 without Retry-After")
        if "requestBody" in operation and "413" not in operation["responses"]:
            missing.append(f"{service} {method} {path}: 413")
    assert not missing, "undocumented:\n  " + _ids(missing)


def _says_nothing(schema: dict[str, Any]) -> bool:
    """An empty schema, or an object with neither properties nor a value type."""
    return not schema or (
        schema.get("type") == "object" and not schema.get("properties") and "additionalProperties" not in schema
    )


def test_every_success_answer_has_a_schema() -> None:
    """What a client gets back is typed (the web app's types are generated from these
    documents): every 2xx JSON answer names its fields; 204 has no body; text, CSV, HTML
    and images are declared by media type (test below)."""
    untyped = []
    for service, method, path, _context, operation in operations():
        for code, response in operation["responses"].items():
            if not code.startswith("2") or code == "204":
                continue
            content = response.get("content", {})
            if not content:
                untyped.append(f"{service} {method} {path}: {code} without content")
            json_body = content.get("application/json")
            if json_body is not None and _says_nothing(json_body.get("schema", {})):
                untyped.append(f"{service} {method} {path}: {code} JSON without a schema")
    assert not untyped, "answers without a schema:\n  " + _ids(untyped)


# Statuses the scan finds in a helper the endpoint calls where the endpoint can never give
# them, with the reason (declaring them would be a lie in the document).
UNREACHABLE: dict[tuple[str, str, str], dict[str, str]] = {
    ("catalog", "POST", "/api/catalog/products"): {"404": "_get reads back the product inserted in the same transaction"},
}


def test_every_status_an_endpoint_raises_is_declared() -> None:
    missing = []
    for service, method, path, context, operation in operations():
        unreachable = set(UNREACHABLE.get((service, method, path), {}))
        for code in sorted(raised_statuses(context.endpoint) - set(operation["responses"]) - unreachable):
            missing.append(f"{service} {method} {path}: {code}")
    assert not missing, "raised in the code but not in the document:\n  " + _ids(missing)


def test_the_statuses_found_in_code_include_the_known_ones() -> None:
    """The scan itself works: sales' receipt raises 404 and 409, identity's outlets 409."""
    found = {(s, m, p): raised_statuses(c.endpoint) for s, m, p, c, _op in operations()}
    assert {"404", "409"} <= found[("sales", "GET", "/api/sales/{sale_id}/receipt")]
    assert "409" in found[("identity", "POST", "/api/identity/outlets")]


def test_every_declared_error_says_what_it_means() -> None:
    vague = [
        f"{s} {m} {p}: {code}"
        for s, m, p, _c, op in operations()
        for code, response in op["responses"].items()
        if code >= "400" and not response.get("description", "").strip()
    ]
    assert not vague, "an error without a description:\n  " + _ids(vague)


def test_every_text_html_or_csv_answer_is_declared() -> None:
    """Sales' receipts, refund slips and Z-reports answer printer text or HTML with
    format=text|html; the reports and the catalog export CSV: the document says so."""
    missing = []
    for service, method, path, context, operation in operations():
        success = next(code for code in operation["responses"] if code.startswith("2"))
        declared = set(operation["responses"][success].get("content", {}))
        for media in sorted(answered_media_types(context.endpoint) - declared):
            missing.append(f"{service} {method} {path}: {success} {media}")
    assert not missing, "answered but not declared:\n  " + _ids(missing)


@pytest.mark.parametrize(
    "path",
    [
        "/api/sales/{sale_id}/receipt",
        "/api/sales/{sale_id}/reprint",
        "/api/sales/shifts/{shift_id}/z-report",
        "/api/sales/shifts/{shift_id}/close",
        "/api/sales/refunds/{refund_id}",
    ],
)
def test_sales_receipts_declare_their_text_and_html_answers(path: str) -> None:
    apps()
    (operation,) = _DOCUMENTS["sales"]["paths"][path].values()
    content = operation["responses"]["200"]["content"]
    assert {"application/json", "text/plain", "text/html"} <= set(content), f"{path} declares only {sorted(content)}"
    for media in ("text/plain", "text/html"):
        assert content[media]["schema"] == {"type": "string"}


def test_the_rate_limited_identity_paths_declare_429() -> None:
    """The gateway answers 429 on log-in, user switch and PIN approvals (limit_req)."""
    apps()
    document = _DOCUMENTS["identity"]
    for path in ("/api/identity/login", "/api/identity/switch", "/api/identity/approvals"):
        assert "429" in document["paths"][path]["post"]["responses"], path
