"""Live stock changes per outlet for tills (server-sent events), correct with any number
of replicas (ADR 0011).

Inventory's RabbitMQ queue is shared by its replicas (competing consumers), so no
replica sees every event. The ledger, though, holds every movement, whichever replica
or consumer wrote it: each replica polls it for the outlets its clients watch, one
poller per outlet however many clients watch it.

Ledger ids are given out at insert but become visible at commit, so a smaller id may
appear after a larger one. The poller therefore re-reads the last `settle_seconds` of
ids on every poll and remembers which rows it already sent: a row that appears late is
still sent once (a transaction taking longer than `settle_seconds` between its ledger
insert and its commit could be missed; inventory's transactions take milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from pos_inventory.tables import ledger, stock
from pos_platform.db import Database
from pos_platform.periodic import periodic

log = logging.getLogger("pos.inventory.stream")

CATCH_UP_LIMIT = 1000


@dataclass(eq=False)  # compared (and hashed) by identity: one per client
class Subscriber:
    queue: asyncio.Queue[list[dict[str, Any]]] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    overflowed: bool = False


def read_rows(db: Database, outlet_id: str, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Ledger rows of an outlet after `after_id`, with each product's current level."""
    with db.transaction() as uow:
        rows = uow.session.execute(
            select(ledger).where(ledger.c.outlet_id == outlet_id, ledger.c.id > after_id).order_by(ledger.c.id).limit(limit)
        ).all()
        products = sorted({r.product_id for r in rows})
        levels = {}
        if products:
            levels = {
                r.product_id: r
                for r in uow.session.execute(
                    select(stock.c.product_id, stock.c.on_hand, stock.c.reserved, stock.c.reorder_point).where(
                        stock.c.outlet_id == outlet_id, stock.c.product_id.in_(products)
                    )
                )
            }
    return [event_data(r, levels.get(r.product_id)) for r in rows]


def event_data(row: Any, level: Any) -> dict[str, Any]:
    data = {
        "id": row.id,
        "outlet_id": row.outlet_id,
        "product_id": row.product_id,
        "kind": row.kind,
        "delta": row.delta,
        "reason": row.reason,
        "reference": row.reference,
        "on_hand_after": row.on_hand_after,
        "oversold": bool(row.oversold),
        "at": row.created_at.isoformat() + "Z",
    }
    if level is not None:
        data["level"] = {
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "available": level.on_hand - level.reserved,
            "reorder_point": level.reorder_point,
        }
    return data


def last_id(db: Database, outlet_id: str) -> int:
    with db.transaction() as uow:
        return uow.session.scalar(select(func.max(ledger.c.id)).where(ledger.c.outlet_id == outlet_id)) or 0


class OutletFeed:
    """Polls one outlet's ledger and hands new rows to every subscriber."""

    def __init__(self, db: Database, outlet_id: str, *, interval: float, settle_seconds: float) -> None:
        self.db = db
        self.outlet_id = outlet_id
        self.interval = interval
        self.settle_seconds = settle_seconds
        self.subscribers: set[Subscriber] = set()
        self.low_water = 0  # every row at or below this id was sent (or never will be)
        self.seen: set[int] = set()  # ids above low_water already sent
        self._marks: deque[tuple[float, int]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    async def run(self) -> None:
        self.low_water = await asyncio.to_thread(last_id, self.db, self.outlet_id)
        self.started.set()
        await periodic(
            self.poll_once,
            every=self.interval,
            first_after=0,
            what="stock stream poll",
            logger=log,
            extra={"outlet_id": self.outlet_id},
        )

    async def poll_once(self) -> list[dict[str, Any]]:
        rows = await asyncio.to_thread(read_rows, self.db, self.outlet_id, self.low_water, len(self.seen) + 500)
        fresh = [r for r in rows if r["id"] not in self.seen]
        now = time.monotonic()
        highest = max([self.low_water, *(r["id"] for r in rows)])
        self.seen.update(r["id"] for r in fresh)
        self._marks.append((now, highest))
        # Ids seen `settle_seconds` ago: anything below them has committed (or never will).
        while self._marks and self._marks[0][0] <= now - self.settle_seconds:
            self.low_water = max(self.low_water, self._marks.popleft()[1])
        self.seen = {i for i in self.seen if i > self.low_water}
        if fresh:
            for subscriber in list(self.subscribers):
                try:
                    subscriber.queue.put_nowait(fresh)
                except asyncio.QueueFull:
                    subscriber.overflowed = True  # a stuck client: it reconnects with Last-Event-ID
        return fresh


class StockStreams:
    """The outlet feeds of one replica."""

    def __init__(self, db: Database, *, interval: float = 0.3, settle_seconds: float = 10.0) -> None:
        self.db = db
        self.interval = interval
        self.settle_seconds = settle_seconds
        self.feeds: dict[str, OutletFeed] = {}

    async def subscribe(self, outlet_id: str) -> tuple[OutletFeed, Subscriber]:
        feed = self.feeds.get(outlet_id)
        if feed is None:
            feed = OutletFeed(self.db, outlet_id, interval=self.interval, settle_seconds=self.settle_seconds)
            self.feeds[outlet_id] = feed
            feed.task = asyncio.create_task(feed.run(), name=f"stock-stream-{outlet_id}")
        subscriber = Subscriber()
        feed.subscribers.add(subscriber)
        await feed.started.wait()
        return feed, subscriber

    def unsubscribe(self, outlet_id: str, subscriber: Subscriber) -> None:
        feed = self.feeds.get(outlet_id)
        if feed is None:
            return
        feed.subscribers.discard(subscriber)
        if not feed.subscribers:
            del self.feeds[outlet_id]
            if feed.task is not None:
                feed.task.cancel()

    async def close(self) -> None:
        tasks = [f.task for f in self.feeds.values() if f.task is not None]
        self.feeds.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def events(
        self, outlet_id: str, *, last_event_id: int | None, keepalive: float = 15.0, max_seconds: float = 300.0
    ) -> AsyncIterator[str]:
        """The text/event-stream of one client: `ready`, then a `stock` event per ledger
        row (id = ledger id, so a client that reconnects with Last-Event-ID misses
        nothing), comments as keep-alives, and `bye` after max_seconds (the client
        reconnects; a replica being stopped is never held open by its streams)."""
        feed, subscriber = await self.subscribe(outlet_id)
        try:
            sent: set[int] = set()
            yield "retry: 2000\n\n"
            if last_event_id is not None:
                rows = await asyncio.to_thread(read_rows, self.db, outlet_id, last_event_id, CATCH_UP_LIMIT + 1)
                if len(rows) > CATCH_UP_LIMIT:
                    yield _event("reset", {"outlet_id": outlet_id, "reason": "too many changes missed: reload the levels"})
                else:
                    for row in rows:
                        sent.add(row["id"])
                        yield _event("stock", row, row["id"])
            yield _event("ready", {"outlet_id": outlet_id, "last_id": max([feed.low_water, *sent])})
            deadline = time.monotonic() + max_seconds
            while time.monotonic() < deadline:
                try:
                    # asyncio.timeout: unlike wait_for on 3.11 it never swallows a cancellation.
                    async with asyncio.timeout(min(keepalive, max(0.1, deadline - time.monotonic()))):
                        batch = await subscriber.queue.get()
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if subscriber.overflowed:
                    yield _event("reset", {"outlet_id": outlet_id, "reason": "the stream fell behind: reload the levels"})
                    return
                for row in batch:
                    if row["id"] not in sent:
                        yield _event("stock", row, row["id"])
                sent = {i for i in sent if i > feed.low_water}
            yield _event("bye", {"reason": "reconnect"})
        finally:
            with contextlib.suppress(Exception):
                self.unsubscribe(outlet_id, subscriber)


def _event(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
