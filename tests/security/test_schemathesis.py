"""Schemathesis against every service's OpenAPI document, through the gateway of the
local stack, with a valid admin token: no 5xx, no response whose body contradicts the
document, no status code the operation does not declare, and no content type it does
not declare. One test per operation; bounded (POS_FUZZ_EXAMPLES cases each, 15 by
default), derandomized and seeded, so a run takes a few minutes and repeats exactly.

A 5xx found here in a service not yet fixed is listed in KNOWN_FAILURES (non-strict
xfail, with the request that caused it and the owner who must fix it)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.security.world import SERVICES, openapi_documents
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("POS_FUZZ_EXAMPLES", "15"))
SEED = 20261125
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
# Server-sent event streams never end: a fuzzer would only wait on them.
SKIPPED_PATHS = ("/stream",)

# "<service> <METHOD> <path>" -> the 5xx or violation, the request, and the owner.
# Found 2026-11-25 (no 5xx anywhere): a 422 raised as HTTPException(422, "<a sentence>")
# answered {"detail": "<string>"}, while the document promised only FastAPI's
# HTTPValidationError. pos_platform now documents every 422 as either shape
# (tests/security/test_openapi_422.py), and reports answers its own 422s (a bad date
# range) as the list of validation errors. Nothing known is left.
KNOWN_FAILURES: dict[str, str] = {}


def operations() -> list[Any]:
    params = []
    for service, document in openapi_documents().items():
        for path, methods in sorted(document["paths"].items()):
            if path.endswith(SKIPPED_PATHS):
                continue
            for method in sorted(methods):
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                key = f"{service} {method.upper()} {path}"
                marks = [pytest.mark.xfail(strict=False, reason=KNOWN_FAILURES[key])] if key in KNOWN_FAILURES else []
                params.append(pytest.param(service, method, path, id=key, marks=marks))
    return params


@pytest.fixture(scope="module")
def fuzz_token(local_stack: Stack) -> str:
    """An admin of its own: what the fuzzer does to it (wrong current passwords, ...)
    cannot lock out the stack's own admin."""
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    password = f"fuzz-password-{uuid.uuid4().hex}"
    with local_stack.client(local_stack.login()) as admin:
        admin.post(
            "/api/identity/users", json={"email": email, "name": "Fuzzer", "password": password, "role": "admin"}
        ).raise_for_status()
    return local_stack.login(email, password)


@pytest.fixture(scope="module")
def schemas(local_stack: Stack) -> dict[str, Any]:
    """The documents as the stack serves them (the gateway's path, not a copy)."""
    loaded = {}
    with httpx.Client(base_url=local_stack.base_url, timeout=30) as http:
        for service in SERVICES:
            document = http.get(f"/api/{service}/openapi.json").raise_for_status().json()
            loaded[service] = schemathesis.openapi.from_dict(document)
    return loaded


def test_every_service_is_fuzzed() -> None:
    assert {p.values[0] for p in operations()} == set(SERVICES)


@pytest.mark.parametrize(("service", "method", "path"), operations())
def test_operation_has_no_5xx_and_keeps_its_schema(
    service: str, method: str, path: str, schemas, fuzz_token: str, local_stack: Stack
) -> None:
    operation = schemas[service][path][method.upper()]
    headers = {"Authorization": f"Bearer {fuzz_token}"}

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=local_stack.base_url, headers=headers, timeout=20)
        case.validate_response(response, checks=CHECKS, headers=headers)

    hypothesis.seed(SEED)(run)()
