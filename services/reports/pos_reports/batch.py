"""Many events, one transaction: the path the seed and the rebuild take through the
same handlers the consumer runs (handlers.PROJECTORS).

Each event's id goes into the inbox like the consumer's, so an event that is both
replayed and delivered live counts once, whichever comes first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pos_contracts import Envelope, parse_payload
from pos_platform.bus import PoisonMessage
from pos_platform.db import Database, retry_on_deadlock, utcnow
from pos_platform.messaging_tables import inbox_table
from pos_reports.handlers import PROJECTORS, prefetch
from pos_reports.projection import Changes, ReplicaCache

log = logging.getLogger("pos.reports.batch")

CONSUMER = "reports"


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0  # types reports has no handler for
    poison: list[str] = field(default_factory=list)  # event ids that cannot be processed
    rows_written: int = 0

    def __iadd__(self, other: BatchResult) -> BatchResult:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.ignored += other.ignored
        self.poison += other.poison
        self.rows_written += other.rows_written
        return self


def parse(envelopes: Iterable[Envelope], result: BatchResult) -> list[tuple[Any, Any, Envelope]]:
    parsed = []
    for envelope in envelopes:
        projector = PROJECTORS.get(envelope.type)
        if projector is None:
            result.ignored += 1
            continue
        try:
            event = parse_payload(envelope.type, envelope.version, envelope.payload)
        except (KeyError, ValueError) as exc:
            log.warning("poison event skipped", extra={"event_id": envelope.event_id, "error": str(exc)})
            result.poison.append(envelope.event_id)
            continue
        parsed.append((projector, event, envelope))
    return parsed


def apply_batch(
    db: Database, envelopes: list[Envelope], cache: ReplicaCache | None = None, *, record_inbox: bool = True
) -> BatchResult:
    """Apply events in one transaction (in the order given). Retried as a whole on a
    deadlock, or when a live consumer recorded one of the events meanwhile.

    record_inbox=False (the seed: made-up events never delivered by the broker) skips
    the inbox: no duplicate check by event id, and a third of the writes saved."""
    result = BatchResult()
    parsed = parse(envelopes, result)
    for attempt in range(5):
        try:
            outcome = _apply(db, parsed, cache, record_inbox)
        except IntegrityError:
            if attempt == 4:
                raise
            continue
        outcome.ignored, outcome.poison = result.ignored, result.poison + outcome.poison
        return outcome
    raise AssertionError("unreachable")


@retry_on_deadlock
def _apply(db: Database, parsed: list[tuple[Any, Any, Envelope]], cache: ReplicaCache | None, record_inbox: bool) -> BatchResult:
    result = BatchResult()
    inbox = inbox_table(db.metadata)
    with db.transaction() as uow:
        session = uow.session
        ids = list({envelope.event_id for _, _, envelope in parsed}) if record_inbox else []
        seen: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            seen.update(
                session.scalars(select(inbox.c.event_id).where(inbox.c.consumer == CONSUMER, inbox.c.event_id.in_(chunk)))
            )
        changes = Changes(session, cache)
        fresh = []
        for projector, event, envelope in parsed:
            if envelope.event_id in seen:
                result.duplicates += 1
                continue
            seen.add(envelope.event_id)
            fresh.append((projector, event, envelope))
        prefetch(changes, [(event, envelope) for _, event, envelope in fresh])
        now = utcnow()
        processed = []
        for projector, event, envelope in fresh:
            try:
                projector(changes, event, envelope)
            except PoisonMessage as exc:
                log.warning("poison event skipped", extra={"event_id": envelope.event_id, "error": str(exc)})
                result.poison.append(envelope.event_id)
                continue
            processed.append(
                {"consumer": CONSUMER, "event_id": envelope.event_id, "event_type": envelope.type, "processed_at": now}
            )
        if processed and record_inbox:
            session.execute(inbox.insert(), processed)
        result.applied = len(processed)
        result.rows_written = changes.flush() + (len(processed) if record_inbox else 0)
    return result
