"""The rates cache and manual rates in the payments database, the refresh from the
provider, and the background loop that runs it (docs/currency-tax.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, update

from pos_payments.config import Settings
from pos_payments.conversion import rate_text
from pos_payments.rates import (
    FEED_BASE,
    CachedRate,
    ManualRate,
    PairRate,
    RateSheet,
    RatesProvider,
    RatesUnavailable,
    age_in_days,
    feed_rate,
    known_currencies,
    manual_rates_ended_by,
    pair_rate,
)
from pos_payments.tables import exchange_rates, manual_rates, rate_feed_status
from pos_platform.app import ServiceContext
from pos_platform.audit import record_audit
from pos_platform.db import Database, UnitOfWork, upsert, utcnow
from pos_platform.periodic import periodic

log = logging.getLogger("pos.payments.rates")


class RatesProblem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class RefreshOutcome:
    source: str
    reference_date: date
    currencies: int
    stored: int  # rates that replaced older ones (0 when the sheet was already cached)
    fetched_at: datetime
    age_days: int
    stale: bool
    manual_rates_ended: list[int]


@dataclass(frozen=True)
class FeedStatus:
    source: str
    url: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_reference_date: date | None
    last_error: str | None
    last_error_at: datetime | None
    failures_in_a_row: int


def _manual(row: Any) -> ManualRate:
    return ManualRate(
        id=row.id,
        base=row.base,
        quote=row.quote,
        rate=Decimal(row.rate),
        reason=row.reason,
        set_by=row.set_by,
        set_by_name=row.set_by_name,
        set_at=row.set_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


def load_cache(uow: UnitOfWork) -> dict[str, CachedRate]:
    rows = uow.session.execute(select(exchange_rates)).all()
    return {r.currency: CachedRate(r.currency, Decimal(r.per_eur), r.reference_date, r.source, r.fetched_at) for r in rows}


def load_open_manual(uow: UnitOfWork, now: datetime) -> list[ManualRate]:
    rows = uow.session.execute(
        select(manual_rates).where(manual_rates.c.ended_at.is_(None), manual_rates.c.expires_at > now).order_by(manual_rates.c.id)
    ).all()
    return [_manual(r) for r in rows]


class RatesService:
    def __init__(self, db: Database, provider: RatesProvider, settings: Settings) -> None:
        self.db = db
        self.provider = provider
        self.stale_after_days = settings.rates_stale_after_days
        self.manual_default = timedelta(hours=settings.manual_rate_default_hours)
        self.manual_max = timedelta(days=settings.manual_rate_max_days)

    # --- refresh ---------------------------------------------------------------------------

    async def refresh(self) -> RefreshOutcome:
        """Fetch the provider's sheet and cache it. RatesProblem(503) when there is none:
        the cached rates stay as they are, and the failure is logged and recorded."""
        attempt_at = utcnow()
        try:
            sheet = await self.provider.fetch()
        except RatesUnavailable as exc:
            cached = await asyncio.to_thread(self._record_failure, attempt_at, exc.reason)
            log.error(
                "rates refresh failed: the cached rates stay in use",
                extra={
                    "source": self.provider.name,
                    "url": self.provider.url,
                    "error": exc.reason,
                    "garbage": exc.garbage,
                    "cached": cached,
                },
            )
            raise RatesProblem(503, f"the rates could not be refreshed ({exc.reason}); {cached}") from None
        outcome = await asyncio.to_thread(self.store_sheet, sheet, attempt_at)
        log.info(
            "rates refreshed",
            extra={
                "source": sheet.source,
                "reference_date": sheet.reference_date.isoformat(),
                "currencies": outcome.currencies,
                "stored": outcome.stored,
            },
        )
        return outcome

    def store_sheet(self, sheet: RateSheet, fetched_at: datetime) -> RefreshOutcome:
        """Cache a sheet: each rate replaces the cached one unless that is of a later
        date; manual rates whose pair now has a fresh feed rate end."""
        stored = 0
        with self.db.transaction() as uow:
            for code, rate in sorted(sheet.rates.items()):
                values = {
                    "per_eur": rate,
                    "reference_date": sheet.reference_date,
                    "source": sheet.source,
                    "fetched_at": fetched_at,
                }
                upsert(uow.session, exchange_rates, {"currency": code}, defaults=values)
                result = uow.session.execute(
                    update(exchange_rates)
                    .where(exchange_rates.c.currency == code, exchange_rates.c.reference_date <= sheet.reference_date)
                    .values(**values)
                )
                stored += result.rowcount or 0
            upsert(
                uow.session,
                rate_feed_status,
                {"source": sheet.source},
                sets={
                    "url": self.provider.url[:500],
                    "last_attempt_at": fetched_at,
                    "last_success_at": fetched_at,
                    "last_reference_date": sheet.reference_date,
                    "failures_in_a_row": 0,
                },
            )
            age = age_in_days(sheet.reference_date, fetched_at)
            stale = age > self.stale_after_days
            ended: list[int] = []
            if not stale:
                cache = load_cache(uow)
                fresh = {c for c, r in cache.items() if r.reference_date == sheet.reference_date} | {FEED_BASE}
                for manual in manual_rates_ended_by(
                    fresh, cache, load_open_manual(uow, fetched_at), fetched_at, self.stale_after_days
                ):
                    uow.session.execute(
                        update(manual_rates)
                        .where(manual_rates.c.id == manual.id, manual_rates.c.ended_at.is_(None))
                        .values(
                            ended_at=fetched_at,
                            end_reason=f"a fresh {sheet.source} rate of {sheet.reference_date.isoformat()} arrived",
                        )
                    )
                    ended.append(manual.id)
        if ended:
            log.info("manual rates ended by fresh feed rates", extra={"manual_rate_ids": ended})
        return RefreshOutcome(sheet.source, sheet.reference_date, len(sheet.rates), stored, fetched_at, age, stale, ended)

    def _record_failure(self, attempt_at: datetime, reason: str) -> str:
        """Record the failure; a sentence on the cached rates still in use."""
        with self.db.transaction() as uow:
            upsert(
                uow.session,
                rate_feed_status,
                {"source": self.provider.name},
                increments={"failures_in_a_row": 1},
                sets={
                    "url": self.provider.url[:500],
                    "last_attempt_at": attempt_at,
                    "last_error": reason[:500],
                    "last_error_at": attempt_at,
                },
            )
            cache = load_cache(uow)
        if not cache:
            return "no rates are cached yet: foreign cash needs a manual rate"
        newest = max(r.reference_date for r in cache.values())
        age = age_in_days(newest, attempt_at)
        state = "stale" if age > self.stale_after_days else "still fresh"
        return f"the cached rates of {newest.isoformat()} ({age} days old, {state}) stay in use"

    # --- reading ---------------------------------------------------------------------------

    def feed_status(self) -> FeedStatus | None:
        with self.db.transaction() as uow:
            row = uow.session.execute(select(rate_feed_status).where(rate_feed_status.c.source == self.provider.name)).first()
        if row is None:
            return None
        return FeedStatus(
            row.source,
            row.url,
            row.last_attempt_at,
            row.last_success_at,
            row.last_reference_date,
            row.last_error,
            row.last_error_at,
            row.failures_in_a_row,
        )

    def rates(self, base: str, now: datetime | None = None) -> list[PairRate]:
        """Every rate from `base` the service knows, each with its precedence applied."""
        now = now or utcnow()
        with self.db.transaction() as uow:
            cache = load_cache(uow)
            manual = load_open_manual(uow, now)
        return [
            pair_rate(base, quote, cache, manual, now, self.stale_after_days)
            for quote in known_currencies(cache, manual, base, now)
        ]

    def rate(self, base: str, quote: str, now: datetime | None = None) -> PairRate:
        now = now or utcnow()
        with self.db.transaction() as uow:
            cache = load_cache(uow)
            manual = load_open_manual(uow, now)
        return pair_rate(base, quote, cache, manual, now, self.stale_after_days)

    # --- manual rates ----------------------------------------------------------------------

    def set_manual(
        self,
        *,
        base: str,
        quote: str,
        rate: Decimal,
        reason: str,
        user_id: str,
        user_name: str,
        expires_at: datetime | None,
        now: datetime | None = None,
    ) -> tuple[ManualRate, PairRate]:
        """Record a manager's rate for base -> quote. RatesProblem(409) while the feed's
        rate for the pair is fresh (it would take precedence), 422 for an expiry in the
        past or beyond the maximum."""
        now = now or utcnow()
        if base == quote:
            raise RatesProblem(422, f"base and quote are both {base}: a manual rate is between two currencies")
        expires = expires_at or now + self.manual_default
        if expires <= now:
            raise RatesProblem(422, f"expires_at {expires.isoformat()} is not in the future")
        if expires > now + self.manual_max:
            raise RatesProblem(
                422, f"expires_at is more than {self.manual_max.days} days away: a manual rate is a stopgap, set a nearer expiry"
            )
        with self.db.transaction() as uow:
            cache = load_cache(uow)
            feed = feed_rate(base, quote, cache, now, self.stale_after_days)
            if feed is not None and not feed.stale:
                raise RatesProblem(
                    409,
                    f"the {feed.source} rate for {base}->{quote} is fresh ({rate_text(feed.rate)} of {feed.reference_date.isoformat()}, "
                    f"{feed.age_days} days old): it takes precedence, so a manual rate is only for a stale or missing one",
                )
            result = uow.session.execute(
                manual_rates.insert().values(
                    base=base,
                    quote=quote,
                    rate=rate_text(rate),
                    reason=reason,
                    set_by=user_id[:36],
                    set_by_name=user_name[:200],
                    set_at=now,
                    expires_at=expires,
                )
            )
            row_id = result.inserted_primary_key[0]
            row = uow.session.execute(select(manual_rates).where(manual_rates.c.id == row_id)).one()
            manual = load_open_manual(uow, now)
            # A manager overriding the feed: identity's audit chain (ADR 0043).
            record_audit(
                uow,
                "exchange_rate.manual_set",
                actor_id=user_id,
                target_type="exchange_rate",
                target_id=f"{base}/{quote}",
                outlet_id=None,  # rates are the chain's, not one outlet's
                details={
                    "manual_rate_id": row_id,
                    "base": base,
                    "quote": quote,
                    "rate": rate_text(rate),
                    "reason": reason,
                    "expires_at": expires.isoformat() + "Z",
                    "set_by_name": user_name,
                    "feed_rate": None if feed is None else rate_text(feed.rate),
                    "feed_reference_date": None if feed is None else feed.reference_date.isoformat(),
                },
            )
        log.info(
            "manual rate set",
            extra={
                "manual_rate_id": row_id,
                "pair": f"{base}/{quote}",
                "rate": rate_text(rate),
                "set_by": user_id,
                "reason": reason,
                "expires_at": expires.isoformat(),
            },
        )
        return _manual(row), pair_rate(base, quote, cache, manual, now, self.stale_after_days)

    def manual_history(self, base: str | None, quote: str | None, limit: int) -> list[tuple[ManualRate, str | None]]:
        """Every manual rate (for a pair, either direction, if given), newest first, with
        why it ended."""
        query = select(manual_rates)
        if base and quote:
            query = query.where(
                or_(
                    and_(manual_rates.c.base == base, manual_rates.c.quote == quote),
                    and_(manual_rates.c.base == quote, manual_rates.c.quote == base),
                )
            )
        elif base or quote:
            code = base or quote
            query = query.where(or_(manual_rates.c.base == code, manual_rates.c.quote == code))
        with self.db.transaction() as uow:
            rows = uow.session.execute(query.order_by(manual_rates.c.id.desc()).limit(limit)).all()
        return [(_manual(r), r.end_reason) for r in rows]


def rates_refresher(
    service: RatesService, interval_seconds: float
) -> Callable[[ServiceContext[Settings]], Coroutine[Any, Any, None]]:
    """The background job: refresh the rates at start, then every `interval_seconds`
    (none when 0, or without a feed). A failure is logged and recorded and the loop goes
    on; the cache keeps its rates."""

    async def refresh_rates(_ctx: ServiceContext[Settings]) -> None:
        if service.provider.name == "none":
            return

        async def once() -> None:
            try:
                await service.refresh()
            except RatesProblem:
                pass  # logged and recorded by refresh

        await periodic(once, every=interval_seconds, first_after=0, what="rates refresh", logger=log)

    return refresh_rates
