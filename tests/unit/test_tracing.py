"""Tracing (ADR 0070) without the stack: off, an event's envelope is byte for byte what
it was; on, a consumer's batch continues each event's own trace, and what a batch
handler publishes under `correlated(...)` joins the trace of the event it answers. The
spans go over OTLP/HTTP to scripts/otlp_sink.py in its own process; the traced code
runs in a process of its own too (a tracer provider is set once per process)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from pos_contracts import new_envelope
from pos_contracts.events import SaleCompleted
from tests.polling import eventually

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
