"""Request and response models of the low-stock digest's API (routes_digest)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, field_validator

from pos_platform.schemas import RequestModel

# An address as people type it: something@domain.tld, no spaces, no line breaks (it goes
# into a mail header), nothing that would split a list. The mail server judges the rest.
EMAIL_PATTERN = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


class DigestSettingsIn(RequestModel):
    enabled: bool = Field(description="send the daily digest")
    send_at: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="local time of day to send, HH:MM (24 h) in the outlet's time zone",
        examples=["07:30"],
    )
    recipients: list[str] = Field(
        default=[],
        max_length=20,
        description="e-mail addresses; empty: the outlet's managers (their addresses as identity knows them)",
    )
    send_when_all_stocked: bool = Field(
        default=False, description="with nothing at or under its reorder point, send a one-line 'all stocked' mail (else no mail)"
    )

    @field_validator("recipients", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        seen: list[str] = []
        for item in value:
            if not isinstance(item, str):
                return value  # the strict list[str] check says what is wrong
            address = item.strip()
            if len(address) > 254 or not EMAIL_PATTERN.match(address):
                raise ValueError(f"{address!r} is not an e-mail address: type it as name@example.com")
            if address.lower() not in (s.lower() for s in seen):
                seen.append(address)
        return seen


class DigestRunOut(BaseModel):
    local_date: str = Field(description="the outlet's local day the digest is for (YYYY-MM-DD)")
    status: str = Field(
        description="sending | sent | nothing (nothing to report: no mail) | failed (tried again later) | refused (the mail server refused it for good)"
    )
    attempts: int
    recipients: list[str] = Field(description="to whom it went (sent only)")
    lines: int | None = Field(description="products listed (sent or nothing only)")
    sent_at: str | None
    next_try_at: str | None = Field(description="a failed digest is tried again then (UTC)")
    last_error: str | None


class DigestSettingsOut(BaseModel):
    outlet_id: str
    enabled: bool
    send_at: str = Field(description="HH:MM, local time")
    timezone: str = Field(description="the outlet's time zone (UTC until identity announced it)")
    recipients: list[str] = Field(description="as saved; empty: the outlet's managers")
    managers: list[str] = Field(description="the outlet's managers' addresses (the default recipients)")
    sends_to: list[str] = Field(description="who the next digest goes to")
    send_when_all_stocked: bool
    updated_at: str | None
    updated_by: str | None
    next_send_at: str | None = Field(description="when the next digest is due (UTC), when enabled")
    last_run: DigestRunOut | None = Field(description="the latest day's digest, if any")


class DigestLineOut(BaseModel):
    product_id: str
    sku: str | None
    name: str | None
    on_hand: int
    reorder_point: int
    suggested_order_qty: int


class DigestTestOut(BaseModel):
    outlet_id: str
    to: list[str]
    subject: str
    text: str = Field(description="the mail's plain-text body (an HTML alternative went with it)")
    lines: list[DigestLineOut]
    sent_at: str
