"""Tracing (ADR 0070) without the stack: off, an event's envelope is byte for byte what
it was; on, a consumer's batch continues each event's own trace, and what a batch
handler publishes under `correlated(...)` joins the trace of the event it answers. The
spans go over OTLP/HTTP to scripts/otlp_sink.py in its own process; the traced code
runs in a process of its own too (a tracer provider is set once per process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from pos_contracts import new_envelope
from pos_contracts.events import SaleCompleted
from pos_platform.testing import free_port
from tests.polling import eventually

ROOT = Path(__file__).resolve().parents[2]


def test_with_tracing_off_an_envelope_carries_no_trace_field() -> None:
    from pos_platform import tracing

    assert not tracing.enabled()
    assert tracing.current_traceparent() is None
    event = SaleCompleted.model_validate(
        {
            "sale_id": "s-1",
            "outlet_id": "o-1",
            "cashier_id": "u-1",
            "receipt_number": "R1-000001",
            "currency": "EUR",
            "lines": [],
            "subtotal_minor": 0,
            "tax_minor": 0,
            "total_minor": 0,
            "tenders": [],
            "completed_at": "2026-12-07T10:00:00Z",
        }
    )
    body = json.loads(new_envelope(event, producer="sales").model_dump_json())
    assert "traceparent" not in body


TRACED = textwrap.dedent(
    """
    import sys
    from pos_contracts import Envelope
    from pos_platform import tracing
    from pos_platform.db import correlated

    tracing.configure_tracing("inventory", sys.argv[1])
    a = "00-" + "a" * 32 + "-" + "1" * 16 + "-01"
    b = "00-" + "b" * 32 + "-" + "2" * 16 + "-01"
    def envelope(n, traceparent, correlation):
        return Envelope.model_validate({"event_id": f"e-{n}", "type": "SaleCompleted", "occurred_at": "2026-12-07T10:00:00Z",
            "producer": "sales", "correlation_id": correlation, "traceparent": traceparent})
    with tracing.consumer_spans("inventory", [envelope(1, a, "req-a"), envelope(2, b, "req-b")]):
        with correlated("req-b"):
            print(tracing.current_traceparent())
        with correlated("req-a"):
            print(tracing.current_traceparent())
    tracing.shutdown_tracing()
    """
)


def test_a_batch_continues_each_events_trace_and_what_it_publishes_joins_it(tmp_path: Path) -> None:
    port = free_port()
    traces = tmp_path / "traces.jsonl"
    sink = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "otlp_sink.py"), "--port", str(port), "--file", str(traces)])
    try:
        eventually(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200, "the trace sink", 15)
        run = subprocess.run(
            [sys.executable, "-c", TRACED, f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert run.returncode == 0, run.stderr
        published_b, published_a = run.stdout.split()
        spans = eventually(lambda: [json.loads(x) for x in traces.read_text().splitlines()] if traces.exists() else None, "spans")
    finally:
        sink.terminate()
        sink.wait(10)
    by_trace = {s["trace_id"]: s for s in spans}
    assert sorted(by_trace) == ["a" * 32, "b" * 32]
    for trace_id, parent in (("a" * 32, "1" * 16), ("b" * 32, "2" * 16)):
        span = by_trace[trace_id]
        assert (span["service"], span["kind"], span["name"], span["parent_span_id"]) == (
            "inventory",
            "consumer",
            "SaleCompleted process",
            parent,
        )
        assert span["attributes"]["messaging.batch.message_count"] == 2
    # What a batch handler publishes for sale b is a child of b's span, and a's of a's.
    assert published_b == f"00-{'b' * 32}-{by_trace['b' * 32]['span_id']}-01"
    assert published_a == f"00-{'a' * 32}-{by_trace['a' * 32]['span_id']}-01"


NAMED = textwrap.dedent(
    """
    import asyncio, sys
    import httpx
    from fastapi import FastAPI
    from pos_platform import tracing
    from pos_platform.observability import RequestContextMiddleware
    from pos_sales.hops import HttpxHop

    tracing.configure_tracing("sales", sys.argv[1])
    telemetry = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(telemetry=telemetry)

    @app.delete("/api/inventory/reservations/{sale_id}", status_code=204)
    async def release(sale_id: str) -> None:
        return None

    app.add_middleware(RequestContextMiddleware, service="inventory")
    sale = "0b6f3c2e-5d1a-4c8e-9f00-1234567890ab"

    async def main():
        hop = HttpxHop(httpx.ASGITransport(app=app))
        base = "http://inventory"
        url = f"{base}/api/inventory/reservations/{sale}?attempt=a1&outlet_id=o-1"
        # Named by the caller's route template, and (without one) by the path with its ids.
        await hop.request("DELETE", url, headers={}, timeout=5, route="/api/inventory/reservations/{sale_id}")
        await hop.request("DELETE", url, headers={}, timeout=5)
        # No traceparent: the trace id the gateway logged (X-Trace-ID) starts the trace.
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)
        await http.delete(f"/api/inventory/reservations/{sale}", headers={"X-Trace-ID": "c" * 32})
        await http.get(f"/api/nowhere/{sale}")
        await http.aclose()
        await hop.close()

    asyncio.run(main())
    tracing.shutdown_tracing()
    """
)


def test_spans_are_named_by_route_templates_and_a_gateway_trace_id_starts_the_trace(tmp_path: Path) -> None:
    port = free_port()
    traces = tmp_path / "traces.jsonl"
    sink = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "otlp_sink.py"), "--port", str(port), "--file", str(traces)])
    try:
        eventually(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200, "the trace sink", 15)
        run = subprocess.run(
            [sys.executable, "-c", NAMED, f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert run.returncode == 0, run.stderr

        def all_spans() -> list[dict[str, object]] | None:
            found = [json.loads(x) for x in traces.read_text().splitlines()] if traces.exists() else []
            return found if len(found) >= 6 else None

        spans = eventually(all_spans, "six spans")
    finally:
        sink.terminate()
        sink.wait(10)
    sale = "0b6f3c2e-5d1a-4c8e-9f00-1234567890ab"
    # An operator's list of span names: one per route, no sale id in any of them.
    assert sorted((s["kind"], s["name"]) for s in spans) == [
        ("client", "DELETE /api/inventory/reservations/{id}"),
        ("client", "DELETE /api/inventory/reservations/{sale_id}"),
        ("server", "DELETE /api/inventory/reservations/{sale_id}"),
        ("server", "DELETE /api/inventory/reservations/{sale_id}"),
        ("server", "DELETE /api/inventory/reservations/{sale_id}"),
        ("server", "GET"),
    ]
    # The URL itself is kept where one looks for a single request: its attributes.
    clients = [s for s in spans if s["kind"] == "client"]
    assert {s["attributes"]["url.full"] for s in clients} == {f"http://inventory/api/inventory/reservations/{sale}"}
    by_id = {s["span_id"]: s for s in spans}
    for client in clients:
        [server] = [s for s in spans if s["parent_span_id"] == client["span_id"]]
        assert server["attributes"]["url.path"] == f"/api/inventory/reservations/{sale}"
        assert server["attributes"]["http.route"] == "/api/inventory/reservations/{sale_id}"
        assert server["attributes"]["http.response.status_code"] == 204
    [gateway_started] = [s for s in spans if s["trace_id"] == "c" * 32]
    assert gateway_started["kind"] == "server" and gateway_started["parent_span_id"] is None
    [unmatched] = [s for s in spans if s["name"] == "GET"]
    assert unmatched["attributes"]["http.response.status_code"] == 404 and "http.route" not in unmatched["attributes"]
    assert by_id  # every span exported once
    assert len(by_id) == len(spans)
