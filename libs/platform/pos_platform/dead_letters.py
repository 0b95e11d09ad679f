"""The dead-letter list of a consuming service, for an operator (admin):

    GET  /api/<service>/dead-letters                 what the consumer gave up on, and why
    POST /api/<service>/dead-letters/{id}/replay     run it through the handler again
    POST /api/<service>/dead-letters/replay          replay every pending one
    POST /api/<service>/dead-letters/{id}/discard    mark it handled, with a note

A replay runs the same handler in the same kind of transaction as a live delivery, with
the event's original id in the inbox, so an event that meanwhile arrived another way is
applied once. docs/reliability.md says when to replay and when to discard.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Row, func, select

from pos_contracts import Envelope
from pos_platform.auth import Admin
from pos_platform.consumer import EventConsumer, describe, is_transient, reason_for
from pos_platform.db import iso_utc, utcnow

log = logging.getLogger("pos.dead_letters")

Status = Literal["pending", "replayed", "discarded"]


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    event_id: str | None
    event_type: str | None
    routing_key: str | None
    reason: str = Field(description="why the consumer gave up, in a sentence")
    error: str = Field(description="the exception and where it was raised")
    attempts: int = Field(description="deliveries and replays that failed")
    status: Status
    first_failed_at: str
    failed_at: str
    resolved_at: str | None
    resolved_by: str | None
    note: str | None
    body: str = Field(description="the message as it arrived")


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    total: int
    pending: int


class DiscardIn(BaseModel):
    model_config = {"extra": "forbid"}
    note: str = Field(min_length=1, max_length=500, description="why it is not replayed (kept with the row)")


class ReplayAll(BaseModel):
    replayed: int
    still_failing: int
    items: list[DeadLetterOut]


def _out(row: Row[Any]) -> DeadLetterOut:
    m = row._mapping
    return DeadLetterOut(
        id=m["id"],
        consumer=m["consumer"],
        event_id=m["event_id"],
        event_type=m["event_type"],
        routing_key=m["routing_key"],
        reason=m["reason"],
        error=m["error"],
        attempts=m["attempts"],
        status=m["status"],
        first_failed_at=iso_utc(m["first_failed_at"]) or "",
        failed_at=iso_utc(m["failed_at"]) or "",
        resolved_at=iso_utc(m["resolved_at"]),
        resolved_by=m["resolved_by"],
        note=m["note"],
        body=m["body"],
    )


class DeadLetters:
    """Listing, replay and discard over a consumer's dead-letter table."""

    def __init__(self, consumer: EventConsumer) -> None:
        self.consumer = consumer
        self.db = consumer.db
        self.table = consumer.dead_letters

    def page(self, status_: Status | None, limit: int, offset: int) -> DeadLetterPage:
        t = self.table
        query = select(t)
        if status_ is not None:
            query = query.where(t.c.status == status_)
        with self.db.transaction() as uow:
            total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
            pending = uow.session.scalar(select(func.count()).select_from(t).where(t.c.status == "pending")) or 0
            rows = uow.session.execute(query.order_by(t.c.id.desc()).limit(limit).offset(offset)).all()
        return DeadLetterPage(items=[_out(r) for r in rows], total=total, pending=pending)

    def get(self, letter_id: int) -> DeadLetterOut:
        with self.db.transaction() as uow:
            row = uow.session.execute(select(self.table).where(self.table.c.id == letter_id)).first()
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {letter_id}")
        return _out(row)

    def pending_ids(self, limit: int) -> list[int]:
        t = self.table
        with self.db.transaction() as uow:
            return list(uow.session.scalars(select(t.c.id).where(t.c.status == "pending").order_by(t.c.id).limit(limit)))

    def replay(self, letter_id: int, admin_id: str) -> tuple[bool, DeadLetterOut]:
        """(applied, the row afterwards). Runs in a worker thread."""
        letter = self.get(letter_id)
        if letter.status != "pending":
            raise HTTPException(status.HTTP_409_CONFLICT, f"dead letter {letter_id} is already {letter.status}")
        try:
            envelope = Envelope.model_validate_json(letter.body)
        except ValidationError as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"dead letter {letter_id} is not an event envelope, so it cannot be replayed: discard it with a note "
                f"({str(exc).splitlines()[0]})",
            ) from None
        try:
            self.consumer.handle(envelope)
        except Exception as exc:
            if is_transient(exc):
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE, f"the database is unavailable ({describe(exc)}): try the replay again"
                ) from None
            self._update(letter_id, status="pending", reason=reason_for(exc, envelope)[:500], error=describe(exc), failed=True)
            log.warning("dead letter replay failed", extra={"dead_letter": letter_id, "error": describe(exc)})
            return False, self.get(letter_id)
        self._update(letter_id, status="replayed", resolved_by=admin_id)
        log.info("dead letter replayed", extra={"dead_letter": letter_id, "event_id": letter.event_id, "by": admin_id})
        return True, self.get(letter_id)

    def discard(self, letter_id: int, admin_id: str, note: str) -> DeadLetterOut:
        letter = self.get(letter_id)
        if letter.status != "pending":
            raise HTTPException(status.HTTP_409_CONFLICT, f"dead letter {letter_id} is already {letter.status}")
        self._update(letter_id, status="discarded", resolved_by=admin_id, note=note)
        log.warning(
            "dead letter discarded", extra={"dead_letter": letter_id, "event_id": letter.event_id, "by": admin_id, "note": note}
        )
        return self.get(letter_id)

    def _update(self, letter_id: int, *, status: str, failed: bool = False, **values: object) -> None:
        t = self.table
        now = utcnow()
        changes: dict[str, object] = {"status": status, **values}
        if failed:
            changes.update(failed_at=now, attempts=t.c.attempts + 1)
        else:
            changes["resolved_at"] = now
        with self.db.transaction() as uow:
            uow.session.execute(t.update().where(t.c.id == letter_id, t.c.status == "pending").values(**changes))
        self.consumer.refresh_pending_gauge()


def dead_letter_router(service: str, consumer: EventConsumer) -> APIRouter:
    router = APIRouter(prefix=f"/api/{service}/dead-letters", tags=["operations"])
    letters = DeadLetters(consumer)

    @router.get("", response_model=DeadLetterPage)
    def list_dead_letters(
        _admin: Admin,
        status_: Status | None = Query(default="pending", alias="status", description="pending (default), replayed or discarded"),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0, le=1_000_000_000),
    ) -> DeadLetterPage:
        """Events this service's consumer gave up on, newest first, each with its reason."""
        return letters.page(status_, limit, offset)

    @router.post(
        "/replay",
        response_model=ReplayAll,
        responses={503: {"description": "the database is unavailable: try again"}},
    )
    async def replay_all(admin: Admin, limit: int = Query(default=1000, ge=1, le=10_000)) -> ReplayAll:
        """Replay every pending dead letter, oldest first (after a fix, or when the
        dependency it waited for is back). Those that still fail stay pending."""
        replayed, failed, items = 0, 0, []
        for letter_id in await asyncio.to_thread(letters.pending_ids, limit):
            try:
                applied, out = await asyncio.to_thread(letters.replay, letter_id, admin.user_id)
            except HTTPException as exc:
                if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
                    raise
                failed += 1
                continue
            replayed += applied
            failed += not applied
            items.append(out)
        return ReplayAll(replayed=replayed, still_failing=failed, items=items)

    @router.post(
        "/{letter_id}/replay",
        response_model=DeadLetterOut,
        responses={
            404: {"description": "no such dead letter"},
            409: {"description": "already replayed or discarded, or the replay failed again (the reason is updated)"},
            422: {
                "description": "the message is not an event envelope: it can only be discarded",
                # document_unprocessable (pos_platform.app) widens this to both 422 shapes.
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
            },
            503: {"description": "the database is unavailable: try again"},
        },
    )
    async def replay_one(admin: Admin, letter_id: int = Path(ge=1, le=2**63 - 1)) -> DeadLetterOut:
        """Run the event through the handler again. Answers the row: `replayed` when it
        was applied (or had been already), else 409 with the new reason."""
        applied, out = await asyncio.to_thread(letters.replay, letter_id, admin.user_id)
        if not applied:
            raise HTTPException(status.HTTP_409_CONFLICT, f"the replay failed again: {out.reason}")
        return out

    @router.post(
        "/{letter_id}/discard",
        response_model=DeadLetterOut,
        responses={404: {"description": "no such dead letter"}, 409: {"description": "already replayed or discarded"}},
    )
    def discard(body: DiscardIn, admin: Admin, letter_id: int = Path(ge=1, le=2**63 - 1)) -> DeadLetterOut:
        """Mark a dead letter handled without replaying it (a forged or obsolete event),
        with a note saying why; the row stays for the record."""
        return letters.discard(letter_id, admin.user_id, body.note)

    return router
