"""Outbox relay: claims unsent outbox rows, publishes them with confirms, marks them sent.

Safe with many replicas: rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so two
relays never publish the same row at once. A crash between publish and mark-sent
republishes the batch: at-least-once, and the consumers' inbox makes that harmless.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import Connection, bindparam, func, select, update

from pos_platform.bus import Bus, OutgoingMessage
from pos_platform.db import Database, utcnow

log = logging.getLogger("pos.relay")

EVENTS_PUBLISHED = Counter("pos_outbox_published_total", "Outbox events published", ["service"])
RELAY_ERRORS = Counter("pos_outbox_relay_errors_total", "Failed relay batches", ["service"])
# Read when /metrics is scraped (deploy/observability: the "stuck relay" alert).
OUTBOX_UNSENT = Gauge("pos_outbox_unsent", "Events in the outbox not yet published", ["service"])
OUTBOX_OLDEST = Gauge("pos_outbox_oldest_unsent_seconds", "Age of the oldest unpublished event (0: none)", ["service"])


def refresh_outbox_gauges(db: Database) -> None:
    """The outbox's backlog: how many events wait, and how long the oldest has (one
    query on the unsent index)."""
    outbox = db.outbox
    with db.engine.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))).one()
    OUTBOX_UNSENT.labels(db.producer).set(count)
    OUTBOX_OLDEST.labels(db.producer).set((utcnow() - oldest).total_seconds() if oldest is not None else 0)


class OutboxRelay:
    def __init__(
        self, db: Database, bus: Bus, *, batch_size: int = 200, idle_interval: float = 0.25, linger: float = 0.005
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        # After a wake-up, wait this long so that the commits of the next few
        # milliseconds share one claim, one publish batch and one mark (under load a
        # claim per event was a tenth of a service's CPU).
        self.linger = linger
        outbox = db.outbox
        self._claim = (
            select(outbox.c.id, outbox.c.event_id, outbox.c.routing_key, outbox.c.body)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        self._mark = update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True))).values(sent_at=bindparam("now"))
        # One thread owns the claiming session, so the transaction stays on one connection.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"relay-{db.producer}")
        # The last piece of work given to that thread (close() waits for it: the thread
        # runs one piece at a time, in order, so it is the end of whatever is queued).
        self._last: concurrent.futures.Future[Any] | None = None
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        db.on_events_committed(self.wake)

    def wake(self) -> None:
        """Thread-safe nudge after a commit that wrote events (keeps latency low)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                sent = await self.drain_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                RELAY_ERRORS.labels(self.db.producer).inc()
                log.exception("relay batch failed; will retry")
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))
                continue
            if sent < self.batch_size:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that lands as the wait completes, and the relay would
                # then never stop (a shutdown that hangs).
                try:
                    async with asyncio.timeout(self.idle_interval):
                        await self._wakeup.wait()
                    if self.linger:
                        await asyncio.sleep(self.linger)
                except TimeoutError:
                    pass
                self._wakeup.clear()

    async def drain_once(self) -> int:
        """Publish one batch; returns how many events were sent. The claimed rows stay
        locked (FOR UPDATE SKIP LOCKED, one connection held by the relay's thread) until
        they are marked sent, so no other relay publishes them meanwhile."""
        pending = self._submit(self._claim_rows)
        try:
            claimed = await asyncio.wrap_future(pending)
        except asyncio.CancelledError:
            # Stopping while the claim runs: whatever it claims is given back when it ends.
            pending.add_done_callback(self._abandon_claim)
            raise
        if claimed is None:
            return 0
        connection, rows = claimed
        try:
            await self.bus.publish_batch([OutgoingMessage(event_id=r[1], routing_key=r[2], body=r[3].encode()) for r in rows])
            await asyncio.wrap_future(self._submit(self._mark_sent, connection, [r[0] for r in rows]))
        except BaseException:
            # The claim is given back on the relay's thread, after whatever that thread is
            # doing with the connection (a mark cut short by a stop goes on there and
            # closes it). Never from here: a connection used by two threads at once is
            # undefined behaviour for the driver (SQLite's crashed the process).
            try:
                self._submit(self._abandon, connection)
            except RuntimeError:  # the thread is shut down: nothing else uses the connection
                self._abandon(connection)
            raise
        EVENTS_PUBLISHED.labels(self.db.producer).inc(len(rows))
        return len(rows)

    def _claim_rows(self) -> tuple[Connection, list[tuple[int, str, str, str]]] | None:
        connection = self.db.engine.connect()
        try:
            connection.begin()
            rows = [tuple(r) for r in connection.execute(self._claim).all()]
        except BaseException:
            self._abandon(connection)
            raise
        if not rows:
            connection.commit()
            connection.close()
            return None
        return connection, rows

    def _mark_sent(self, connection: Connection, ids: list[int]) -> None:
        try:
            connection.execute(self._mark, {"ids": ids, "now": utcnow()})
            connection.commit()
        finally:
            connection.close()

    def _abandon_claim(self, done: Any) -> None:
        if not done.cancelled() and done.exception() is None and done.result() is not None:
            self._abandon(done.result()[0])

    @staticmethod
    def _abandon(connection: Connection) -> None:
        if connection.closed:
            return
        try:
            connection.rollback()
        finally:
            connection.close()

    def _submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future = self._executor.submit(fn, *args)
        self._last = future
        return future

    def close(self, timeout: float = 5.0) -> None:
        """Stop the relay's thread once its queued work is done (at most `timeout`
        seconds: a database that does not answer does not hold the shutdown), so the
        engine is not disposed under a statement still running."""
        last = self._last
        self._executor.shutdown(wait=False)
        if last is not None and not concurrent.futures.wait([last], timeout=timeout).done:
            log.error("shutdown: the relay's last database call did not end within %.0f s", timeout)
