"""One trace per sale (issue 18, ADR 0070), on the local stack through nginx: the test
stack's services export their spans over OTLP/HTTP to the stack's trace sink
(scripts/otlp_sink.py, its own process), which appends them to <state dir>/traces.jsonl.
A card sale is followed from the till's request to StockDeducted and the reports update,
as an operator would in a trace viewer: one trace, every span's parent in it."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, eventually, make_shop  # noqa: F401 (fixture)
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Shop:
    shop = make_shop(checkout_stack)
    shop.add_product("kettle", 3490, 50)
    return shop


def spans(stack: Stack) -> list[dict[str, Any]]:
    path = stack.state_dir / "traces.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def trace_of(stack: Stack, trace_id: str) -> list[dict[str, Any]]:
    return [s for s in spans(stack) if s["trace_id"] == trace_id]


def access_log_entry(stack: Stack, request_id: str) -> dict[str, Any] | None:
    path = stack.state_dir / "nginx" / "access.log"
    lines = path.read_text().splitlines() if path.exists() else []
    found = [entry for entry in map(json.loads, filter(str.strip, lines)) if entry["request_id"] == request_id]
    return found[0] if found else None


def ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The span's parent, its parent's parent, ... up to the root."""
    chain = []
    while span["parent_span_id"]:
        span = by_id[span["parent_span_id"]]
        chain.append(span)
    return chain


def names(trace: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    return Counter((s["service"], s["kind"], s["name"]) for s in trace)


def test_a_card_sale_is_one_trace_from_the_till_to_stock_deducted_and_the_reports(shop: Shop, checkout_stack: Stack) -> None:
    body = shop.sale([("kettle", 1)], [{"kind": "card", "amount_minor": 3490, "card_token": "pm_card_visa"}])
    response = shop.cashier.post("/api/sales", json=body)
    assert response.status_code == 201, response.text
    request_id = response.headers["x-request-id"]

    def root() -> dict[str, Any] | None:
        found = [
            s for s in spans(checkout_stack) if s["attributes"].get("pos.request_id") == request_id and s["service"] == "sales"
        ]
        return found[0] if found else None

    sale_span = eventually(root, "the sales service's span of POST /api/sales")
    assert (sale_span["kind"], sale_span["name"], sale_span["parent_span_id"]) == ("server", "POST /api/sales", None)
    assert sale_span["attributes"]["http.response.status_code"] == 201
    trace_id = sale_span["trace_id"]
    # nginx makes no span but names the trace: its access-log line of the till's request
    # carries the trace's id, so an operator goes from one to the other.
    entry = eventually(lambda: access_log_entry(checkout_stack, request_id), "the gateway's access-log line")
    assert entry["trace_id"] == trace_id

    wanted = {
        ("sales", "server", "POST /api/sales"),
        ("sales", "client", "POST /api/inventory/reservations"),
        ("sales", "client", "POST /api/payments/payments"),
        ("inventory", "server", "POST /api/inventory/reservations"),
        ("payments", "server", "POST /api/payments/payments"),
        ("payments", "client", "card provider charge"),
        ("inventory", "consumer", "SaleCompleted process"),
        ("reports", "consumer", "SaleCompleted process"),
        ("sales", "consumer", "StockDeducted process"),
        ("reports", "consumer", "StockDeducted process"),
        ("reports", "consumer", "PaymentCaptured process"),
    }

    def complete() -> list[dict[str, Any]] | None:
        trace = trace_of(checkout_stack, trace_id)
        return trace if wanted <= set(names(trace)) else None

    trace = eventually(complete, f"every span of the sale's trace (wanted {sorted(wanted)})", timeout=30)
    by_id = {s["span_id"]: s for s in trace}
    # One tree: every span but the root has its parent in the same trace.
    orphans = [(s["service"], s["name"]) for s in trace if s["parent_span_id"] and s["parent_span_id"] not in by_id]
    assert orphans == []
    assert [s for s in trace if not s["parent_span_id"]] == [sale_span]
    # Each hop's server span is the child of sales' client span of that hop, made while
    # sales answered the till.
    hops = [s for s in trace if s["service"] in ("inventory", "payments") and s["kind"] == "server"]
    assert {s["name"] for s in hops} >= {"POST /api/inventory/reservations", "POST /api/payments/payments"}
    for server in hops:
        client = by_id[server["parent_span_id"]]
        assert (client["service"], client["kind"]) == ("sales", "client"), server["name"]
        assert sale_span in ancestors(client, by_id)
    # StockDeducted continues the trace through inventory's handling of SaleCompleted.
    [deducted] = [s for s in trace if s["service"] == "sales" and s["name"] == "StockDeducted process"]
    [handled] = [s for s in ancestors(deducted, by_id) if s["kind"] == "consumer"]
    assert (handled["service"], handled["name"]) == ("inventory", "SaleCompleted process")
    assert handled["start_ns"] <= deducted["start_ns"]
    # Span names are route templates: no sale, payment or product id in any of them.
    assert [s["name"] for s in spans(checkout_stack) if UUID.search(s["name"])] == []


def test_a_caller_trace_context_is_continued_and_a_refused_sale_is_traced_too(shop: Shop, checkout_stack: Stack) -> None:
    trace_id = uuid.uuid4().hex
    caller_span = uuid.uuid4().hex[:16]
    body = shop.sale([("kettle", 1)], [{"kind": "cash", "amount_minor": 100}])  # less than the total: refused
    response = shop.cashier.post("/api/sales", json=body, headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert 400 <= response.status_code < 500, response.text

    def server_span() -> dict[str, Any] | None:
        found = [s for s in trace_of(checkout_stack, trace_id) if s["service"] == "sales" and s["kind"] == "server"]
        return found[0] if found else None

    span = eventually(server_span, "the sales span in the caller's trace")
    assert span["parent_span_id"] == caller_span
    assert span["attributes"]["http.response.status_code"] == response.status_code
