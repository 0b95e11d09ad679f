"""A local trace collector: takes spans over OTLP/HTTP (POST /v1/traces, protobuf or
JSON, as the OpenTelemetry exporters send them) and appends each span as one JSON line
to a file, for tests and the local stack (one trace per sale, ADR 0070). It stands in
for an OpenTelemetry Collector with a trace viewer behind it (compose.yaml runs those).

    .venv/bin/python scripts/otlp_sink.py --port 4318 --file var/traces.jsonl

A line: {"trace_id", "span_id", "parent_span_id", "name", "kind", "service",
"start_ns", "end_ns", "status", "attributes"} (ids as lowercase hex).
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

KINDS = {value: name.removeprefix("SPAN_KIND_").lower() for name, value in Span.SpanKind.items()}


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


def spans_of(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    out = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "name": span.name,
                        "kind": KINDS.get(span.kind, str(span.kind)),
                        "service": resource.get("service.name"),
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status": "error" if span.status.code == span.status.STATUS_CODE_ERROR else "ok",
                        "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                    }
                )
    return out


class Sink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, spans: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(span, sort_keys=True) + "\n" for span in spans)
        with self.lock, self.path.open("a", encoding="utf-8") as out:
            out.write(text)


def handler_for(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per export is noise
            pass

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(200, b"ok", "text/plain")
            else:
                self._answer(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/traces":
                self._answer(404, b"only /v1/traces", "text/plain")
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            request = ExportTraceServiceRequest()
            try:
                if content_type == "application/json":
                    Parse(body.decode("utf-8"), request)
                else:
                    request.ParseFromString(body)
            except Exception as exc:  # a malformed export: the exporter logs our answer
                self._answer(400, f"cannot read the export: {exc}".encode(), "text/plain")
                return
            sink.append(spans_of(request))
            self._answer(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler_for(Sink(args.file)))
    print(f"OTLP/HTTP trace sink on {args.host}:{args.port}, writing {args.file}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
