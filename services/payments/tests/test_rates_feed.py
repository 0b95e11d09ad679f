"""The ECB document parser (real layout, garbage of every kind the sandbox serves), the
adapter's retries, and which rate is in force: staleness and the precedence of feed and
manual rates (pure, no database)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from pos_payments.ecb import EcbRatesProvider, GarbageRates, parse_eurofxref
from pos_payments.rates import CachedRate, ManualRate, RatesUnavailable, known_currencies, manual_rates_ended_by, pair_rate
from pos_payments.rates_sandbox.app import GARBAGE, create_app, render
from pos_platform.testing import log_records

# The ECB's document as it publishes it (single quotes, tabs, the gesmes envelope).
ECB_DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2024-06-28'>
\t\t\t<Cube currency='USD' rate='1.0705'/>
\t\t\t<Cube currency='JPY' rate='171.94'/>
\t\t\t<Cube currency='GBP' rate='0.84638'/>
\t\t\t<Cube currency='IDR' rate='17487.11'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""


def test_the_ecbs_document_is_read_as_written() -> None:
    sheet = parse_eurofxref(ECB_DOCUMENT)
    assert sheet.source == "ecb" and sheet.base == "EUR"
    assert sheet.reference_date == date(2024, 6, 28)
    assert dict(sheet.rates) == {"USD": "1.0705", "JPY": "171.94", "GBP": "0.84638", "IDR": "17487.11"}


def test_the_sandbox_serves_a_document_the_parser_reads() -> None:
    sheet = parse_eurofxref(render(date(2026, 12, 4), {"USD": "1.0812", "CHF": "0.93120"}), "sandbox")
    assert (sheet.reference_date, dict(sheet.rates)) == (date(2026, 12, 4), {"USD": "1.0812", "CHF": "0.93120"})


def _garbage(kind: str) -> bytes:
    good = render(date(2026, 12, 4), {"USD": "1.0812", "GBP": "0.8513"})
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "bad-rate":
        return good.replace(b"rate='1.0812'", b"rate='one point oh eight'")
    if kind == "no-rates":
        return render(date(2026, 12, 4), {})
    return GARBAGE[kind] or b""


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (_garbage("not-xml"), "not XML"),
        (_garbage("html"), "DTD"),
        (b"<html><body>Service Unavailable</body></html>", "not the ECB's"),
        (_garbage("truncated"), "not XML"),
        (_garbage("bad-rate"), "not a positive decimal"),
        (_garbage("no-rates"), "has no rates"),
        (ECB_DOCUMENT.replace(b"rate='1.0705'", b"rate='-1.0705'"), "not a positive decimal"),
        (ECB_DOCUMENT.replace(b"rate='1.0705'", b"rate='1e3'"), "not a positive decimal"),
        (ECB_DOCUMENT.replace(b"rate='1.0705'", b"rate='NaN'"), "not a positive decimal"),
        (ECB_DOCUMENT.replace(b"rate='1.0705'", b"rate='0.0000'"), "not a positive decimal"),
        (ECB_DOCUMENT.replace(b"currency='USD'", b"currency='usd'"), "not an ISO 4217 code"),
        (ECB_DOCUMENT.replace(b"currency='JPY'", b"currency='USD'"), "listed twice"),
        (ECB_DOCUMENT.replace(b"time='2024-06-28'", b"time='yesterday'"), "not a date"),
        (ECB_DOCUMENT.replace(b"<Cube time='2024-06-28'>", b"<Cube>"), "found 0"),
        (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><gesmes:Envelope/>', "DTD"),
        (b"", "not XML"),
    ],
)
def test_anything_that_is_not_a_rates_document_is_refused_with_the_reason(document: bytes, says: str) -> None:
    with pytest.raises(GarbageRates, match=says):
        parse_eurofxref(document)


# --- the adapter: timeouts, retries, what is logged ---------------------------------------------


class Failing(httpx.AsyncBaseTransport):
    """The in-process sandbox, with connections refused for the first `refuse` requests."""

    def __init__(self, refuse: int = 0) -> None:
        self.app = create_app(rates={"USD": "1.0812"}, reference_date="2026-12-04")
        self.inner = httpx.ASGITransport(app=self.app)
        self.refuse = refuse
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests <= self.refuse:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


def provider(transport: httpx.AsyncBaseTransport, timeout_seconds: float = 0.3) -> EcbRatesProvider:
    return EcbRatesProvider(
        url="http://rates.test/stats/eurofxref/eurofxref-daily.xml",
        name="sandbox",
        transport=transport,
        timeout_seconds=timeout_seconds,
        attempts=3,
        backoff_seconds=0.01,
        backoff_max_seconds=0.02,
    )


@pytest.fixture
def rate_log() -> Iterator[list[logging.LogRecord]]:
    with log_records("pos.payments.rates") as records:
        yield records


def test_a_refused_connection_is_retried_and_the_failures_logged(rate_log: list[logging.LogRecord]) -> None:
    transport = Failing(refuse=2)
    sheet = asyncio.run(provider(transport).fetch())
    assert sheet.rates == {"USD": "1.0812"} and transport.requests == 3
    failures = [r for r in rate_log if r.getMessage() == "rates fetch attempt failed"]
    assert [(vars(r)["attempt"], "cannot connect" in vars(r)["error"]) for r in failures] == [(1, True), (2, True)]


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        ({"mode": "error", "status": 503}, "HTTP 503"),
        ({"mode": "garbage", "garbage": "truncated"}, "not XML"),
        ({"mode": "garbage", "garbage": "bad-rate"}, "not a positive decimal"),
        ({"mode": "slow", "delay_seconds": 5}, "timeout"),
    ],
)
def test_every_attempt_failing_gives_rates_unavailable_with_the_last_reason(
    failure: dict[str, Any], says: str, rate_log: list[logging.LogRecord]
) -> None:
    transport = Failing()
    state = transport.app.state.sandbox
    from pos_payments.rates_sandbox.app import Failure

    state.failure = Failure(**failure)
    with pytest.raises(RatesUnavailable, match=says) as raised:
        asyncio.run(provider(transport, timeout_seconds=0.2).fetch())
    assert "3 attempts failed" in raised.value.reason
    assert transport.requests == 3
    assert len([r for r in rate_log if r.getMessage() == "rates fetch attempt failed"]) == 3


def test_a_wrong_url_is_not_retried() -> None:
    transport = Failing()
    wrong = EcbRatesProvider(url="http://rates.test/no/such/file.xml", transport=transport, attempts=4, backoff_seconds=0.01)
    with pytest.raises(RatesUnavailable, match=r"HTTP 404 .* check the rates URL"):
        asyncio.run(wrong.fetch())
    assert transport.requests == 1


# --- staleness and precedence -----------------------------------------------------------------

NOW = datetime(2026, 12, 8, 10, 0)  # a Tuesday


def cache(day: date, **rates: str) -> dict[str, CachedRate]:
    return {
        c: CachedRate(c, Decimal(r), day, "ecb", datetime.combine(day, datetime.min.time()) + timedelta(hours=16))
        for c, r in rates.items()
    }


def manual(
    base: str, quote: str, rate: str, *, hours_ago: float = 1, hours_left: float = 23, ended: bool = False, id: int = 1
) -> ManualRate:
    return ManualRate(
        id=id, base=base, quote=quote, rate=Decimal(rate), reason="ECB feed down since Thursday", set_by="u-1", set_by_name="Maria Manager",
        set_at=NOW - timedelta(hours=hours_ago), expires_at=NOW + timedelta(hours=hours_left), ended_at=NOW if ended else None,
    )  # fmt: skip


def test_fridays_rate_is_fresh_on_monday_and_stale_after_the_limit() -> None:
    friday = cache(date(2026, 12, 4), USD="1.0812")
    monday = datetime(2026, 12, 7, 9, 0)
    on_monday = pair_rate("EUR", "USD", friday, [], monday, 3)
    assert (on_monday.age_days, on_monday.stale, on_monday.usable, on_monday.source) == (3, False, True, "ecb")
    on_wednesday = pair_rate("EUR", "USD", friday, [], datetime(2026, 12, 9, 9, 0), 3)
    assert (on_wednesday.age_days, on_wednesday.stale, on_wednesday.usable) == (5, True, False)
    assert "2026-12-04, 5 days old (stale after 3)" in (on_wednesday.detail or "")
    assert "refused" in (on_wednesday.detail or "")


def test_a_cross_rate_is_derived_from_the_euro_and_dated_by_its_older_leg() -> None:
    rates = cache(date(2026, 12, 7), USD="1.0812") | cache(date(2026, 12, 3), GBP="0.8513")
    gbp_usd = pair_rate("GBP", "USD", rates, [], NOW, 3)
    assert gbp_usd.rate == Decimal("1.27005755903")
    assert (gbp_usd.reference_date, gbp_usd.age_days, gbp_usd.stale) == (date(2026, 12, 3), 5, True)
    eur_usd = pair_rate("USD", "EUR", rates, [], NOW, 3)
    assert eur_usd.rate == Decimal("0.924898261191") and not eur_usd.stale


def test_precedence_fresh_feed_then_manual_then_stale_feed_then_nothing() -> None:
    fresh = cache(date(2026, 12, 7), USD="1.0812")
    stale = cache(date(2026, 12, 1), USD="1.0700")
    house = manual("EUR", "USD", "1.0900")
    # 1. a fresh feed rate wins even over a manual rate in force
    assert pair_rate("EUR", "USD", fresh, [house], NOW, 3).source == "ecb"
    # 2. a manual rate overrides a stale one, and says which
    chosen = pair_rate("EUR", "USD", stale, [house], NOW, 3)
    assert (chosen.source, chosen.rate, chosen.usable, chosen.stale) == ("manual", Decimal("1.0900"), True, False)
    assert chosen.feed is not None and chosen.feed.stale and chosen.feed.rate == Decimal("1.0700")
    assert "Maria Manager" in (chosen.detail or "") and "overrides the ecb rate of 2026-12-01" in (chosen.detail or "")
    # ... either direction: USD -> EUR is the inverse
    assert pair_rate("USD", "EUR", stale, [house], NOW, 3).rate == Decimal("0.917431192661")
    # ... the newest manual rate in force for the pair
    newer = manual("USD", "EUR", "0.9200", hours_ago=0.5, id=2)
    assert pair_rate("EUR", "USD", stale, [house, newer], NOW, 3).manual == newer
    # 3. an expired or ended manual rate does not count: the stale rate, unusable
    for gone in (manual("EUR", "USD", "1.09", hours_ago=30, hours_left=-6), manual("EUR", "USD", "1.09", ended=True)):
        shown = pair_rate("EUR", "USD", stale, [gone], NOW, 3)
        assert (shown.source, shown.stale, shown.usable) == ("ecb", True, False)
    # 4. nothing at all
    none = pair_rate("EUR", "AED", stale, [], NOW, 3)
    assert (none.rate, none.usable) == (None, False) and "no EUR->AED rate" in (none.detail or "")
    # a manual rate for a currency the feed lacks is usable as it is
    assert pair_rate("EUR", "AED", stale, [manual("EUR", "AED", "3.97")], NOW, 3).usable


def test_a_fresh_sheet_ends_the_manual_rates_it_supersedes_and_only_those() -> None:
    fresh = cache(date(2026, 12, 8), USD="1.0812", GBP="0.8513")
    usd, aed, gbp_usd = manual("EUR", "USD", "1.09", id=1), manual("EUR", "AED", "3.97", id=2), manual("GBP", "USD", "1.27", id=3)
    ended = manual_rates_ended_by({"EUR", "USD", "GBP"}, fresh, [usd, aed, gbp_usd], NOW, 3)
    assert [m.id for m in ended] == [1, 3]


def test_the_list_shows_the_feeds_currencies_the_euro_and_manual_ones_but_not_the_base() -> None:
    rates = cache(date(2026, 12, 7), USD="1.0812", GBP="0.8513")
    assert known_currencies(rates, [manual("AED", "GBP", "0.21")], "GBP", NOW) == ["AED", "EUR", "USD"]
