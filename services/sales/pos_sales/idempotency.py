"""Requests keyed by an id the till chose (a sale, a refund): the answer is stored and
replayed, a concurrent repeat waits for the first, and a failure that was not the
request's fault (a service was down, 5xx) may be tried again under the same id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Column, Table, select
from starlette.concurrency import run_in_threadpool

from pos_platform.db import Database, UnitOfWork, utcnow


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


Reconcile = Callable[[str], Awaitable[Answer | None]]


class StoredAnswers:
    """`table` has id, status (PENDING/COMPLETED/FAILED...), http_status, answer,
    request_hash and created_at; `children` are (table, foreign key column) pairs
    removed with a retryable failure."""

    def __init__(
        self, db: Database, table: Table, children: Sequence[tuple[Table, Column[Any]]], noun: str, reconcile_after_seconds: float
    ) -> None:
        self.db = db
        self.table = table
        self.children = children
        self.noun = noun
        self.reconcile_after_seconds = reconcile_after_seconds
        self.reused_id = Answer(
            409, {"detail": f"this {noun} id was already used for a different {noun}; the till must make a new id"}
        )

    def stored(self, key: str) -> Any:
        with self.db.transaction() as uow:
            return self.stored_in(uow, key)

    def stored_in(self, uow: UnitOfWork, key: str) -> Any:
        t = self.table
        return uow.session.execute(
            select(t.c.status, t.c.http_status, t.c.answer, t.c.request_hash, t.c.created_at).where(t.c.id == key)
        ).first()

    def claim(self, uow: UnitOfWork, key: str, digest: str) -> Answer | Literal["run", "wait"]:
        """In the transaction that would store the request: "run" it (a new id, or one
        whose retryable failure was just discarded here), "wait" for the copy running
        under the same id, or the stored Answer to give again."""
        stored = self.stored_in(uow, key)
        if stored is None:
            return "run"
        if stored.request_hash != digest:
            return self.reused_id
        if stored.status == "PENDING":
            return "wait"
        if not (stored.status == "FAILED" and stored.http_status >= 500):
            return Answer(stored.http_status, json.loads(stored.answer))
        # It failed because a service was down, not because of the request: run it again
        # (unless a concurrent retry discarded it first: then wait for that one).
        return "run" if self._discard_in(uow, key) else "wait"

    async def replay(self, key: str, digest: str, reconcile: Reconcile) -> Answer | None:
        """The answer a repeated id gets, or None when the request should run (new id,
        or a retryable failure, which is discarded here)."""
        stored = await run_in_threadpool(self.stored, key)
        if stored is None:
            return None
        if stored.request_hash != digest:
            return self.reused_id
        if stored.status == "PENDING":
            return await self.wait_for_answer(key, digest, reconcile)
        if not (stored.status == "FAILED" and stored.http_status >= 500):
            return Answer(stored.http_status, json.loads(stored.answer))
        # It failed because a service was down, not because of the request: try again.
        await run_in_threadpool(self._discard_retryable_failure, key)
        return None

    def stale_pending(self, limit: int = 50) -> list[str]:
        """Ids left PENDING for longer than reconcile_after_seconds (a crash, or an
        outcome not known yet), oldest first: for the reconciler to settle."""
        t = self.table
        cutoff = utcnow() - timedelta(seconds=self.reconcile_after_seconds)
        with self.db.transaction() as uow:
            return list(
                uow.session.scalars(
                    select(t.c.id).where(t.c.status == "PENDING", t.c.created_at < cutoff).order_by(t.c.created_at).limit(limit)
                )
            )

    def _discard_retryable_failure(self, key: str) -> None:
        with self.db.transaction() as uow:
            self._discard_in(uow, key)

    def _discard_in(self, uow: UnitOfWork, key: str) -> bool:
        t = self.table
        deleted = uow.session.execute(t.delete().where(t.c.id == key, t.c.status == "FAILED", t.c.http_status >= 500)).rowcount
        if deleted:
            for child, column in self.children:
                uow.session.execute(child.delete().where(column == key))
        return bool(deleted)

    async def wait_for_answer(self, key: str, digest: str, reconcile: Reconcile, timeout: float = 20.0) -> Answer:
        """Wait for the request running under the same id; settle it if it was left
        PENDING long ago (a crash) rather than wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        reconciled = False
        while loop.time() < deadline:
            stored = await run_in_threadpool(self.stored, key)
            if stored is not None and stored.request_hash != digest:
                return self.reused_id
            if stored is not None and stored.status != "PENDING":
                return Answer(stored.http_status, json.loads(stored.answer))
            if (
                stored is not None
                and not reconciled
                and stored.created_at < utcnow() - timedelta(seconds=self.reconcile_after_seconds)
            ):
                reconciled = True
                settled = await reconcile(key)
                if settled is not None:
                    return settled
            await asyncio.sleep(0.05)
        return Answer(
            503,
            {
                "detail": f"this {self.noun} is still being processed: check it again in a moment",
                f"{self.noun}_id": key,
                "status": "PENDING",
            },
        )
