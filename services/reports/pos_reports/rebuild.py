"""Rebuild the read models from history: empty them, then replay every event through
the same handlers the consumer runs, thousands per transaction.

    python -m pos_reports.rebuild --feed http://127.0.0.1:8080/api/sales/events \\
        --feed http://127.0.0.1:8080/api/catalog/events --token "$ADMIN_TOKEN" --yes
    python -m pos_reports.rebuild --file history.jsonl --yes

Sources:
- `--feed URL`: a producer's event history over HTTP. GET URL?after=<cursor>&limit=<n>
  answers {"events": [<envelope>, ...], "next_after": <cursor, null at the end>,
  "total": <events in the whole feed, optional>}, oldest first, with the events'
  original ids (e.g. read from the producer's outbox). See docs/reports.md.
- `--file PATH`: envelopes as JSON lines (`-` for standard input).
Several sources are merged by occurred_at, so a product's cost change is applied
before the sales that followed it.

Safe while the service runs: each replayed event id goes into the inbox, so an event
that is also delivered live counts once. The reports are incomplete until it ends.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
from sqlalchemy import delete

from pos_contracts import Envelope
from pos_platform.db import Database
from pos_platform.messaging_tables import inbox_table
from pos_platform.migrate import upgrade
from pos_reports.batch import CONSUMER, BatchResult, apply_batch
from pos_reports.config import Settings
from pos_reports.projection import ReplicaCache
from pos_reports.tables import READ_MODELS, metadata
from pos_reports.velocity import refresh_velocity


def truncate_read_models(db: Database) -> None:
    """Empty every read model and forget which events the reports consumer has seen."""
    inbox = inbox_table(db.metadata)
    if db.dialect == "mysql":
        with db.engine.begin() as conn:
            for table in READ_MODELS:
                conn.exec_driver_sql(f"TRUNCATE TABLE `{table.name}`")
    with db.transaction() as uow:
        if db.dialect != "mysql":
            for table in READ_MODELS:
                uow.session.execute(delete(table))
        uow.session.execute(delete(inbox).where(inbox.c.consumer == CONSUMER))


# --- sources ------------------------------------------------------------------------


@dataclass
class Source:
    name: str
    events: Iterator[Envelope]
    total: int | None = None


def file_source(path: str) -> Source:
    stream: IO[str] = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115

    def read() -> Iterator[Envelope]:
        with stream:
            for line in stream:
                if line.strip():
                    yield Envelope.model_validate_json(line)

    total = None
    if path != "-":
        with open(path, "rb") as counting:
            total = sum(1 for line in counting if line.strip())
    return Source(path, read(), total)


def feed_source(client: httpx.Client, url: str, page_size: int = 1000) -> Source:
    """Pages of a producer's event history (the first page is read now, for its total)."""

    def page(after: Any) -> dict[str, Any]:
        params = {"limit": page_size} | ({"after": after} if after is not None else {})
        response = client.get(url, params=params)
        if response.status_code != 200:
            raise SystemExit(f"rebuild: {url} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    first = page(None)

    def read() -> Iterator[Envelope]:
        body = first
        while True:
            events = body.get("events") or []
            for raw in events:
                yield Envelope.model_validate(raw)
            after = body.get("next_after")
            if not events or after is None:
                return
            body = page(after)

    return Source(url, read(), first.get("total"))


def merged(sources: list[Source]) -> Iterator[Envelope]:
    """The sources' events in occurred_at order (each source is oldest first)."""
    return heapq.merge(*(s.events for s in sources), key=lambda e: e.occurred_at)


# --- progress -----------------------------------------------------------------------


class Progress:
    """A progress bar on stderr (a line every 5 % when it is not a terminal)."""

    def __init__(self, total: int | None, label: str = "events", stream: IO[str] | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self.tty = self.stream.isatty()
        self._last_step = -1

    def update(self, count: int) -> None:
        self.done += count
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(1.0, self.done / self.total)
            step = int(share * 20)
            if not self.tty and step == self._last_step:
                return
            self._last_step = step
            eta = (self.total - self.done) / rate if rate else 0
            bar = "#" * int(share * 30) + "." * (30 - int(share * 30))
            text = f"[{bar}] {share:6.1%} {self.done:,}/{self.total:,} {self.label} {rate:,.0f}/s ETA {eta:5.0f}s"
        else:
            step = self.done // 50_000
            if not self.tty and step == self._last_step:
                return
            self._last_step = step
            text = f"{self.done:,} {self.label} {rate:,.0f}/s {elapsed:5.0f}s"
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        elapsed = time.monotonic() - self.started
        self.stream.write(f"{self.done:,} {self.label} in {elapsed:.1f}s ({self.done / max(elapsed, 1e-9):,.0f}/s)\n")
        self.stream.flush()


# --- the command ------------------------------------------------------------------------


def replay(
    db: Database,
    events: Iterable[Envelope],
    *,
    batch_size: int = 2000,
    progress: Progress | None = None,
    cache: ReplicaCache | None = None,
) -> BatchResult:
    """Apply events in batches (one transaction each) through the handlers."""
    cache = cache if cache is not None else ReplicaCache()
    total = BatchResult()
    batch: list[Envelope] = []
    for envelope in events:
        batch.append(envelope)
        if len(batch) >= batch_size:
            total += apply_batch(db, batch, cache)
            if progress:
                progress.update(len(batch))
            batch = []
    if batch:
        total += apply_batch(db, batch, cache)
        if progress:
            progress.update(len(batch))
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feed", action="append", default=[], help="a producer's event history URL (repeatable)")
    parser.add_argument("--file", action="append", default=[], help="envelopes as JSON lines; - for stdin (repeatable)")
    parser.add_argument(
        "--token", default=os.environ.get("POS_REBUILD_TOKEN"), help="bearer token for the feeds (or POS_REBUILD_TOKEN)"
    )
    parser.add_argument("--database-url", default=None, help="default: POS_DATABASE_URL, as the service uses")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--keep", action="store_true", help="do not empty the read models first (replay on top; duplicates are skipped)"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before emptying the read models")
    args = parser.parse_args(argv)
    if not args.feed and not args.file:
        parser.error("give at least one --feed or --file")

    settings = Settings()
    url = args.database_url or settings.database_url_for("reports")
    upgrade("reports", url)
    db = Database(url, metadata, "reports")
    if not args.keep:
        if not args.yes:
            answer = input(f"Empty every reports read model in {db.engine.url.render_as_string(hide_password=True)}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing done")
                return 1
        truncate_read_models(db)
        print("read models emptied", file=sys.stderr)

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    with httpx.Client(headers=headers, timeout=60) as client:
        sources = [file_source(path) for path in args.file] + [feed_source(client, u, args.page_size) for u in args.feed]
        totals = [s.total for s in sources]
        progress = Progress(sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None)
        result = replay(db, merged(sources), batch_size=args.batch_size, progress=progress)
        progress.close()
    # Days of cover read the velocity the service refreshes every few minutes: work it
    # out now, so the rebuilt reports are whole when the command ends.
    refresh_velocity(db, settings.velocity_days)
    print(
        json.dumps(
            {
                "applied": result.applied,
                "duplicates": result.duplicates,
                "ignored": result.ignored,
                "poison": len(result.poison),
                "rows_written": result.rows_written,
            }
        )
    )
    if result.poison:
        print(f"events that could not be processed (skipped): {', '.join(result.poison[:20])}", file=sys.stderr)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
