"""One trace per sale (issue 18, ADR 0070): OpenTelemetry spans for every HTTP request a
service answers, every synchronous hop it makes and every event it consumes, with the
W3C trace context carried in request headers (`traceparent`) and in each event's
envelope (`Envelope.traceparent`, written with the event into the outbox, so the relay
can publish it whenever it runs and a consumer continues the producer's trace).

Off unless `POS_OTLP_ENDPOINT` is set (an OTLP/HTTP collector, e.g.
`http://otel-collector:4318`): then spans go out in batches from a background thread
(the SDK's BatchSpanProcessor), sampled parent-based at `POS_TRACE_SAMPLE_RATIO`. Off,
nothing here runs on the request path but a boolean test.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from pos_contracts.envelope import Envelope

log = logging.getLogger(__name__)

_propagator = TraceContextTextMapPropagator()
_state: dict[str, Any] = {"on": False, "provider": None}
# While a consumer applies a batch: correlation id -> the traceparent of that event's
# span, so that an event a batch handler publishes (under `correlated(...)`) continues
# the trace of the event it answers.
_batch_parents: ContextVar[Mapping[str, str] | None] = ContextVar("pos_batch_trace_parents", default=None)
# The trace id the gateway chose for a request that came without a usable `traceparent`
# (its `X-Trace-ID` header, nginx's $request_id): the server span that starts the trace
# takes it, so the gateway's access-log line and the trace share one id.
_gateway_trace_id: ContextVar[int] = ContextVar("pos_gateway_trace_id", default=0)
_HEX32 = re.compile(rb"[0-9a-f]{32}")
# Path segments that name one thing (a uuid, a number, a long hex or opaque token): a
# client span's fallback name puts `{id}` in their place (span names stay few).
_ID_SEGMENT = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}|\d+|[0-9a-fA-F]{16,}|.{25,}"
)


def configure_tracing(service: str, endpoint: str, *, sample_ratio: float = 1.0, instance: str = "") -> bool:
    """Export this process's spans to the OTLP/HTTP collector at `endpoint`; nothing
    when it is empty. Returns whether tracing is on."""
    if not endpoint or _state["on"]:
        return bool(_state["on"])
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    class GatewayTraceIds(RandomIdGenerator):
        """Random ids, except the trace id of a root span started under `_gateway_trace_id`."""

        def generate_trace_id(self) -> int:
            return _gateway_trace_id.get() or super().generate_trace_id()

    resource = Resource.create({"service.name": service, "service.namespace": "pos", "service.instance.id": instance})
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(sample_ratio)), id_generator=GatewayTraceIds()
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces", timeout=5), schedule_delay_millis=500)
    )
    trace.set_tracer_provider(provider)
    _state.update(on=True, provider=provider)
    log.info("tracing to %s", endpoint, extra={"service": service})
    return True


def shutdown_tracing() -> None:
    """Flush what is buffered (at shutdown)."""
    provider = _state["provider"]
    if provider is not None:
        provider.shutdown()
    _state.update(on=False, provider=None)


def enabled() -> bool:
    return bool(_state["on"])


def _tracer() -> trace.Tracer:
    return trace.get_tracer("pos_platform")


@contextmanager
def server_span(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Iterator[Span]:
    """The span of one HTTP request this service answers, continuing the caller's trace
    (its `traceparent` header) if it sent one; otherwise a new trace, with the id the
    gateway logged for the request (`X-Trace-ID`) when there is one. Named by the method
    alone until `finish_server_span` knows the route's template: a path with an id in it
    is an attribute (`url.path`), never a span name."""
    carrier: dict[str, str] = {}
    gateway_trace_id = 0
    for name, value in headers:
        if name in (b"traceparent", b"tracestate"):
            carrier[name.decode("latin-1")] = value.decode("latin-1")
        elif name == b"x-trace-id" and _HEX32.fullmatch(value):
            gateway_trace_id = int(value, 16)
    parent = _propagator.extract(carrier)
    token = None
    if gateway_trace_id and not trace.get_current_span(parent).get_span_context().is_valid:
        token = _gateway_trace_id.set(gateway_trace_id)
    try:
        current = _tracer().start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
            record_exception=False,
            set_status_on_exception=False,
        )
    finally:
        if token is not None:
            _gateway_trace_id.reset(token)
    with trace.use_span(current, end_on_exit=True, record_exception=False, set_status_on_exception=False):
        yield current


def finish_server_span(span: Span, route: str | None, status: int, request_id: str) -> None:
    """`route`: the template of the route that answered (`/api/sales/{sale_id}`), None
    when none matched (the span keeps the method as its name)."""
    if route:
        span.update_name(f"{span_method(span)} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("pos.request_id", request_id)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def span_method(span: Span) -> str:
    attributes = getattr(span, "attributes", None) or {}
    return str(attributes.get("http.request.method", ""))


def path_template(url: str) -> str:
    """The path of `url` with each segment that names one thing (a uuid, a number, a
    long hex or opaque token) replaced by `{id}`: a span name's fallback when the caller
    gave no route template."""
    path = urlsplit(url).path or "/"
    return "/".join("{id}" if _ID_SEGMENT.fullmatch(segment) else segment for segment in path.split("/"))


@contextmanager
def client_span(
    method: str, url: str, headers: dict[str, str], *, route: str | None = None, propagate: bool = True
) -> Iterator[Span | None]:
    """A hop to another service: a client span named by the method and the path's
    template (`route`, e.g. `/api/inventory/reservations/{sale_id}`; else the path with
    its ids replaced by `{id}`), the URL itself only in `url.full`; its context is
    injected into `headers` unless `propagate` is False (a third party's API)."""
    if not _state["on"]:
        yield None
        return
    template = route or path_template(url)
    with _tracer().start_as_current_span(
        f"{method} {template}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "url.full": url.split("?", 1)[0], "url.template": template},
    ) as span:
        if propagate:
            _propagator.inject(headers)
        yield span


@contextmanager
def span(name: str, **attributes: str | int) -> Iterator[Span | None]:
    """A client span of a call outside the project (a card processor, a rates or tax
    API): timed in the trace, no trace context sent to the third party."""
    if not _state["on"]:
        yield None
        return
    with _tracer().start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes={f"pos.{k}": v for k, v in attributes.items()}
    ) as current:
        yield current


def current_traceparent() -> str | None:
    """The `traceparent` of the current span (for an event's envelope); under a batch
    handler, that of the event with the current correlation id."""
    if not _state["on"]:
        return None
    span = trace.get_current_span()
    if span.get_span_context().is_valid:
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        return carrier.get("traceparent")
    from pos_platform.db import correlation_id_var  # db imports this module

    parents = _batch_parents.get()
    correlation = correlation_id_var.get()
    if parents and correlation:
        return parents.get(correlation)
    return None


def _link_context(envelope: Envelope) -> otel_context.Context | None:
    if not envelope.traceparent:
        return None
    return _propagator.extract({"traceparent": envelope.traceparent})


@contextmanager
def consumer_spans(consumer: str, envelopes: list[Envelope]) -> Iterator[None]:
    """One span per event a consumer applies (in one transaction when batched), each in
    the trace of the event's producer; events published meanwhile continue them."""
    if not _state["on"] or not envelopes:
        yield
        return
    spans: list[Span] = []
    parents: dict[str, str] = {}
    tracer = _tracer()
    for envelope in envelopes:
        span = tracer.start_span(
            f"{envelope.type} process",
            context=_link_context(envelope),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "process",
                "messaging.destination.name": envelope.routing_key,
                "messaging.message.id": envelope.event_id,
                "messaging.consumer.group.name": consumer,
                "messaging.batch.message_count": len(envelopes),
            },
        )
        spans.append(span)
        if envelope.correlation_id:
            carrier: dict[str, str] = {}
            _propagator.inject(carrier, context=trace.set_span_in_context(span))
            parents[envelope.correlation_id] = carrier["traceparent"]
    # One event: its span is current (a handler's own spans and publications nest in it).
    token = otel_context.attach(trace.set_span_in_context(spans[0])) if len(spans) == 1 else None
    batch = _batch_parents.set(parents)
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        _batch_parents.reset(batch)
        if token is not None:
            otel_context.detach(token)
        for span in spans:
            span.end()
