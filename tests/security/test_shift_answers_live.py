"""The shift endpoints' real answers on the local stack match their OpenAPI documents
(issue 16, ADR 0063). Schemathesis (test_schemathesis.py) fuzzes these operations with
made-up ids, so it rarely gets past a 404; here each answer a till really meets is
fetched through the gateway and checked with schemathesis' own response checks against
the document the stack serves: a shift opened with a foreign float (201, and 200 again),
cash movements in both currencies, a refusal naming a currency, the X-report, the close
with a count per currency (the dollars converted at payments' rate), the stored Z-report,
the shift and the list."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.polling import eventually
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


def test_shift_answers_match_the_document(local_stack: Stack) -> None:
    token = local_stack.login()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=local_stack.base_url, timeout=30) as http:
        schema = schemathesis.openapi.from_dict(http.get("/api/sales/openapi.json").raise_for_status().json())
    suffix = uuid.uuid4().hex[:6]
    with local_stack.client(token) as admin:
        outlet = (
            admin.post("/api/identity/outlets", json={"name": f"Fx Kiosk {suffix}", "currency": "EUR"}).raise_for_status().json()
        )
        register = (
            admin.post("/api/identity/registers", json={"outlet_id": outlet["id"], "name": "Till 1"}).raise_for_status().json()
        )

        def accept() -> bool:
            now = admin.get(f"/api/sales/outlets/{outlet['id']}/settings")
            if now.status_code != 200:
                return False
            body = {**now.json(), "accepted_currencies": ["USD", "CHF"]}
            return admin.put(f"/api/sales/outlets/{outlet['id']}/settings", json=body).status_code == 200

        eventually(accept, "sales to know the outlet and take its accepted currencies")
        if not admin.get("/api/payments/rates/EUR/USD").json().get("usable"):
            admin.post("/api/payments/rates/refresh")

    seen: list[tuple[str, str, int]] = []

    def call(method: str, path: str, *, path_parameters: dict[str, str] | None = None, body: Any = None,
             query: dict[str, str] | None = None) -> Any:  # fmt: skip
        operation = schema[path][method]
        kwargs: dict[str, Any] = {"path_parameters": path_parameters or {}, "query": query or {}}
        if body is not None:
            kwargs.update(body=body, media_type="application/json")
        case = operation.Case(**kwargs)
        response = case.call(base_url=local_stack.base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        seen.append((method, path, response.status_code))
        return response

    shift_id = str(uuid.uuid4())
    opening = {
        "id": shift_id,
        "outlet_id": outlet["id"],
        "register_id": register["id"],
        "opening_float_minor": 10_000,
        "foreign_floats": [{"currency": "USD", "amount_minor": 5_000}],
    }
    refused = call(
        "POST",
        "/api/sales/shifts",
        body={**opening, "id": str(uuid.uuid4()), "foreign_floats": [{"currency": "GBP", "amount_minor": 1}]},
    )
    assert refused.status_code in (404, 422), refused.text  # 404 until sales knows the register
    opened = eventually(
        lambda: (r := call("POST", "/api/sales/shifts", body=opening)).status_code == 201 and r, "the register to be known"
    )
    assert opened.json()["foreign_floats"] == [{"currency": "USD", "amount_minor": 5_000}]
    assert call("POST", "/api/sales/shifts", body=opening).status_code == 200
    sid = {"shift_id": shift_id}
    moves = "/api/sales/shifts/{shift_id}/cash-movements"
    assert (
        call(
            "POST",
            moves,
            path_parameters=sid,
            body={"id": str(uuid.uuid4()), "kind": "out", "amount_minor": 1_000, "reason": "safe", "currency": "USD"},
        ).status_code
        == 201
    )
    assert (
        call(
            "POST",
            moves,
            path_parameters=sid,
            body={"id": str(uuid.uuid4()), "kind": "in", "amount_minor": 500, "reason": "coins"},
        ).status_code
        == 201
    )
    gbp = call(
        "POST",
        moves,
        path_parameters=sid,
        body={"id": str(uuid.uuid4()), "kind": "in", "amount_minor": 500, "reason": "x", "currency": "GBP"},
    )
    assert gbp.status_code == 422 and "GBP" in gbp.json()["detail"]
    assert call("GET", "/api/sales/shifts/{shift_id}", path_parameters=sid).status_code == 200
    assert (
        call("GET", "/api/sales/shifts/current", query={"outlet_id": outlet["id"], "register_id": register["id"]}).status_code
        == 200
    )
    x = call("GET", "/api/sales/shifts/{shift_id}/z-report", path_parameters=sid)
    assert [c["currency"] for c in x.json()["cash_by_currency"]] == ["EUR", "USD"]
    close = "/api/sales/shifts/{shift_id}/close"
    bad = call(
        "POST",
        close,
        path_parameters=sid,
        body={"counted_cash_minor": 10_500, "foreign_counted": [{"currency": "JPY", "amount_minor": 0}]},
    )
    assert bad.status_code == 422 and "JPY" in bad.json()["detail"]
    counts = {
        "counted_cash_minor": 10_500,
        "foreign_counted": [{"currency": "USD", "amount_minor": 3_900}, {"currency": "CHF", "amount_minor": 0}],
    }
    closed = call("POST", close, path_parameters=sid, body=counts)
    assert closed.status_code == 200, closed.text
    eur, chf, usd = closed.json()["cash_by_currency"]
    assert (eur["over_short_minor"], usd["expected_minor"], usd["over_short_minor"], chf["over_short_minor"]) == (
        0,
        4_000,
        -100,
        0,
    )
    assert usd.get("converted", {}).get("rate_basis") == "payments" or "converted_detail" in usd
    assert call("POST", close, path_parameters=sid, body=counts).status_code == 200
    assert call("GET", "/api/sales/shifts/{shift_id}/z-report", path_parameters=sid).status_code == 200
    assert call("GET", "/api/sales/shifts", query={"outlet_id": outlet["id"]}).status_code == 200
    assert len(seen) >= 14
