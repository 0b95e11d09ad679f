"""Exchange rates: the provider interface, and which rate is in force for a pair.
Plain Python, no I/O (the adapter is pos_payments.ecb, the cache pos_payments.rates_store).

A provider answers one *sheet*: rates against one base currency (the euro, for the ECB)
on one reference date. The cache keeps each currency's latest rate against the euro
with its date, source and fetch time; any other pair is a cross rate of two of them.

Which rate a pair has, first match wins (docs/currency-tax.md, "Precedence"):

1. the feed's rate when it is fresh: both legs at most `stale_after_days` old;
2. else a manual rate a manager set for the pair (either direction), while it has not
   expired and no fresh feed rate has arrived since (a refresh ends it);
3. else the feed's stale rate, shown with its age and marked stale and unusable: a
   foreign tender at it is refused, with the reason;
4. else nothing: no rate, unusable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from pos_payments.conversion import cross_rate, inverse_rate

FEED_BASE = "EUR"


class RatesUnavailable(Exception):
    """The provider gave no usable sheet: unreachable, too slow, an error status, or an
    answer that is not a rates document. `reason` says which, for logs and the API."""

    def __init__(self, reason: str, *, garbage: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.garbage = garbage


@dataclass(frozen=True)
class RateSheet:
    """One provider answer: `rates[c]` units of c per one unit of `base`, as the
    provider wrote them (decimal strings), for `reference_date`."""

    source: str
    base: str
    reference_date: date
    rates: Mapping[str, str]


class RatesProvider(Protocol):
    """Where exchange rates come from (the ECB's daily reference rates, or the sandbox
    speaking the same format). `fetch` retries within its own budget and raises
    RatesUnavailable when it has no sheet to give."""

    name: str
    url: str

    async def fetch(self) -> RateSheet: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class CachedRate:
    """A currency's latest feed rate against the euro."""

    currency: str
    per_eur: Decimal
    reference_date: date
    source: str
    fetched_at: datetime


@dataclass(frozen=True)
class ManualRate:
    """A rate a manager set: `rate` units of quote per unit of base."""

    id: int
    base: str
    quote: str
    rate: Decimal
    reason: str
    set_by: str
    set_by_name: str
    set_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def in_force(self, now: datetime) -> bool:
        return self.ended_at is None and self.set_at <= now < self.expires_at

    def covers(self, base: str, quote: str) -> bool:
        return {self.base, self.quote} == {base, quote}

    def rate_for(self, base: str, quote: str) -> Decimal:
        return self.rate if (self.base, self.quote) == (base, quote) else inverse_rate(self.rate)


@dataclass(frozen=True)
class FeedRate:
    """A pair's rate from the feed (a cross rate unless one side is the euro), dated by
    its older leg."""

    rate: Decimal
    reference_date: date
    source: str
    fetched_at: datetime
    age_days: int
    stale: bool


@dataclass(frozen=True)
class PairRate:
    """The rate in force for base -> quote (units of quote per unit of base) and why."""

    base: str
    quote: str
    rate: Decimal | None
    source: str | None  # the feed's source name, "manual", or None
    reference_date: date | None
    age_days: int | None
    stale: bool
    usable: bool
    detail: str | None  # why it is unusable, or what a manual rate overrides
    feed: FeedRate | None
    manual: ManualRate | None


def age_in_days(reference_date: date, now: datetime) -> int:
    """Whole days from the reference date to today (UTC): Friday's rate is 3 days old on Monday."""
    return max(0, (now.date() - reference_date).days)


def feed_rate(base: str, quote: str, cache: Mapping[str, CachedRate], now: datetime, stale_after_days: int) -> FeedRate | None:
    """The feed's rate for the pair from the euro rates, or None if a leg is missing."""
    legs = [cache.get(c) for c in (base, quote) if c != FEED_BASE]
    if any(leg is None for leg in legs):
        return None
    known = [leg for leg in legs if leg is not None]
    if not known:  # EUR -> EUR
        return None
    base_per_eur = Decimal(1) if base == FEED_BASE else cache[base].per_eur
    quote_per_eur = Decimal(1) if quote == FEED_BASE else cache[quote].per_eur
    if base == FEED_BASE:
        rate = quote_per_eur  # as the feed wrote it: no division, no rounding
    else:
        rate = cross_rate(base_per_eur, quote_per_eur)
    oldest = min(known, key=lambda leg: leg.reference_date)
    age = age_in_days(oldest.reference_date, now)
    return FeedRate(
        rate=rate,
        reference_date=oldest.reference_date,
        source=oldest.source,
        fetched_at=min(leg.fetched_at for leg in known),
        age_days=age,
        stale=age > stale_after_days,
    )


def pair_rate(
    base: str, quote: str, cache: Mapping[str, CachedRate], manual: Iterable[ManualRate], now: datetime, stale_after_days: int
) -> PairRate:
    """The rate in force for base -> quote, by the precedence in the module docstring."""
    feed = feed_rate(base, quote, cache, now, stale_after_days)
    if feed is not None and not feed.stale:
        return PairRate(base, quote, feed.rate, feed.source, feed.reference_date, feed.age_days, False, True, None, feed, None)
    candidates = [m for m in manual if m.covers(base, quote) and m.in_force(now)]
    if candidates:
        chosen = max(candidates, key=lambda m: (m.set_at, m.id))
        overrides = (
            f"overrides the {feed.source} rate of {feed.reference_date.isoformat()} ({feed.age_days} days old, stale after {stale_after_days})"
            if feed is not None
            else "the feed has no rate for this pair"
        )
        return PairRate(
            base,
            quote,
            chosen.rate_for(base, quote),
            "manual",
            chosen.set_at.date(),
            age_in_days(chosen.set_at.date(), now),
            False,
            True,
            f"manual rate set by {chosen.set_by_name or chosen.set_by} ({chosen.reason}); {overrides}; until {chosen.expires_at.isoformat(timespec='minutes')} or a fresh feed rate",
            feed,
            chosen,
        )
    if feed is not None:
        return PairRate(
            base,
            quote,
            feed.rate,
            feed.source,
            feed.reference_date,
            feed.age_days,
            True,
            False,
            (
                f"the {base}->{quote} rate is from {feed.reference_date.isoformat()}, {feed.age_days} days old "
                f"(stale after {stale_after_days}), and no manager has set a manual rate: foreign cash in "
                f"{quote if base == FEED_BASE else base + '/' + quote} is refused until the rates are refreshed or a manager sets a rate"
            ),
            feed,
            None,
        )
    return PairRate(
        base, quote, None, None, None, None, False, False,
        f"there is no {base}->{quote} rate: the feed does not carry it and no manager has set one", None, None,
    )  # fmt: skip


def known_currencies(cache: Mapping[str, CachedRate], manual: Iterable[ManualRate], base: str, now: datetime) -> list[str]:
    """The currencies a rate list for `base` shows: the feed's, the euro, and those of
    manual rates in force for `base`; not `base` itself."""
    codes = set(cache) | {FEED_BASE}
    codes |= {m.quote if m.base == base else m.base for m in manual if base in (m.base, m.quote) and m.in_force(now)}
    codes.discard(base)
    return sorted(codes)


def manual_rates_ended_by(
    sheet_fresh_currencies: set[str],
    cache: Mapping[str, CachedRate],
    manual: Iterable[ManualRate],
    now: datetime,
    stale_after_days: int,
) -> list[ManualRate]:
    """The manual rates in force that a refresh ends: their pair now has a fresh feed
    rate, with a leg that this refresh brought."""
    ended = []
    for m in manual:
        if not m.in_force(now) or not ({m.base, m.quote} & sheet_fresh_currencies):
            continue
        feed = feed_rate(m.base, m.quote, cache, now, stale_after_days)
        if feed is not None and not feed.stale:
            ended.append(m)
    return ended
