"""The envelope every event travels in, whatever the bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    """One event on the wire. Consumers ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    type: str
    version: int = 1
    occurred_at: datetime
    producer: str
    correlation_id: str | None = None
    outlet_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    # The W3C trace context of the producer's span (ADR 0070); absent when tracing is off.
    traceparent: str | None = Field(default=None, exclude_if=lambda value: value is None)

    @property
    def routing_key(self) -> str:
        return f"{self.producer}.{self.type}"


def new_envelope(
    event: Any,
    *,
    producer: str,
    outlet_id: str | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """Wrap an event model in a fresh envelope (new event id, now as occurred_at)."""
    return Envelope(
        event_id=str(uuid.uuid4()),
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=datetime.now(UTC),
        producer=producer,
        correlation_id=correlation_id,
        outlet_id=outlet_id,
        payload=event.model_dump(mode="json"),
        traceparent=traceparent,
    )
