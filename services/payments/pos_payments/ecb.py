"""Rates provider for the European Central Bank's euro foreign exchange reference rates,
`eurofxref-daily.xml` (published on working days around 16:00 CET):

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <gesmes:subject>Reference rates</gesmes:subject>
      <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
      <Cube>
        <Cube time="2026-12-04">
          <Cube currency="USD" rate="1.0812"/>
          ...

Each rate is units of the currency per euro. The rates sandbox
(`pos_payments.rates_sandbox`) serves the same document, so this adapter is what
development and the tests exercise too (ADR 0060).

A fetch is one GET with a timeout, retried with exponential backoff and jitter
(tenacity) on connection errors, timeouts, 5xx and answers that are not a rates
document (a truncated transfer, a proxy's error page); a 4xx is a wrong URL and is not
retried. Every failed attempt is logged with its reason; when the attempts run out the
fetch raises RatesUnavailable and the cache keeps the last good rates.
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import httpx
from prometheus_client import Counter
from tenacity import AsyncRetrying, RetryError, retry_if_exception, stop_after_attempt, wait_random_exponential

from pos_payments.rates import FEED_BASE, RateSheet, RatesUnavailable

log = logging.getLogger("pos.payments.rates")

RATES_FETCHES = Counter("pos_rates_fetch_attempts_total", "Exchange-rate source HTTP attempts", ["source", "outcome"])

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_NAMESPACE = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
MAX_DOCUMENT_BYTES = 256 * 1024  # the real document is about 1.7 kB
RATE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")
CODE = re.compile(r"^[A-Z]{3}$")


class GarbageRates(ValueError):
    """The answer is not a rates document (the reason says what is wrong with it)."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_eurofxref(document: bytes, source: str = "ecb") -> RateSheet:
    """The rates in an eurofxref-daily.xml document. GarbageRates for anything that is
    not one: not XML, a DTD or entities (never in the ECB's document; refused so that no
    entity is ever expanded), no dated Cube, no rates, a rate that is not a positive
    decimal, a currency that is not three capital letters, or one listed twice."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise GarbageRates(f"the document is {len(document)} bytes, more than a rates document ({MAX_DOCUMENT_BYTES})")
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise GarbageRates("the document declares a DTD or entities: not the ECB's rates document")
    try:
        root = ET.fromstring(document)  # noqa: S314 - DTDs and entities refused above; expat fetches nothing
    except ET.ParseError as exc:
        raise GarbageRates(f"not XML: {exc}") from None
    if _local(root.tag) != "Envelope":
        raise GarbageRates(f"the document's root is <{_local(root.tag)}>, not the ECB's <gesmes:Envelope>")
    dated = [el for el in root.iter(f"{{{ECB_NAMESPACE}}}Cube") if "time" in el.attrib]
    if len(dated) != 1:
        raise GarbageRates(f"expected one <Cube time=...> in the eurofxref namespace, found {len(dated)}")
    day = dated[0]
    try:
        reference_date = date.fromisoformat(day.attrib["time"])
    except ValueError:
        raise GarbageRates(f"<Cube time={day.attrib['time']!r}> is not a date (YYYY-MM-DD)") from None
    rates: dict[str, str] = {}
    for cube in day:
        if _local(cube.tag) != "Cube":
            continue
        code, rate = cube.attrib.get("currency", ""), cube.attrib.get("rate", "")
        if not CODE.match(code):
            raise GarbageRates(f"currency {code!r} is not an ISO 4217 code")
        if code == FEED_BASE:
            raise GarbageRates("the euro is listed against itself")
        if not RATE.match(rate) or not any(c in "123456789" for c in rate):
            raise GarbageRates(f"{code} rate {rate!r} is not a positive decimal")
        if code in rates:
            raise GarbageRates(f"{code} is listed twice")
        rates[code] = rate
    if not rates:
        raise GarbageRates(f"the sheet of {reference_date.isoformat()} has no rates")
    return RateSheet(source=source, base=FEED_BASE, reference_date=reference_date, rates=rates)


class _RetryableAnswer(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | TimeoutError | _RetryableAnswer | GarbageRates)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _RetryableAnswer | GarbageRates):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return f"no answer within the timeout ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"{type(exc).__name__}: {exc}"


class EcbRatesProvider:
    """The ECB's daily reference rates over HTTP(S). `name` is recorded as each rate's
    source ("ecb"; "sandbox" for the project's sandbox, so fake rates are never taken
    for the ECB's)."""

    def __init__(
        self,
        *,
        url: str = ECB_DAILY_URL,
        name: str = "ecb",
        timeout_seconds: float = 5.0,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
            transport=transport,
            headers={"Accept": "application/xml, text/xml"},
            follow_redirects=True,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _attempt(self) -> RateSheet:
        # A deadline of our own as well: a server that trickles bytes defeats a read timeout.
        response = await asyncio.wait_for(self._http.get(self.url), self.timeout_seconds + 1.0)
        if response.status_code >= 500 or response.status_code == 429:
            raise _RetryableAnswer(f"HTTP {response.status_code} from {self.url}")
        if response.status_code != 200:
            raise RatesUnavailable(f"HTTP {response.status_code} from {self.url}: check the rates URL")
        return parse_eurofxref(response.content, self.name)

    async def fetch(self) -> RateSheet:
        failures: list[str] = []
        garbage = False
        try:
            async for trial in AsyncRetrying(
                retry=retry_if_exception(_retryable),
                stop=stop_after_attempt(self.attempts),
                wait=wait_random_exponential(multiplier=self.backoff_seconds, max=self.backoff_max_seconds),
            ):
                with trial:
                    number = trial.retry_state.attempt_number
                    try:
                        sheet = await self._attempt()
                    except RatesUnavailable as exc:
                        RATES_FETCHES.labels(self.name, "refused").inc()
                        log.error("rates fetch refused", extra=self._extra(number, exc.reason))
                        raise
                    except Exception as exc:
                        if not _retryable(exc):
                            raise
                        reason = _reason(exc)
                        garbage = isinstance(exc, GarbageRates)
                        failures.append(reason)
                        RATES_FETCHES.labels(self.name, "garbage" if garbage else type(exc).__name__).inc()
                        log.warning("rates fetch attempt failed", extra=self._extra(number, reason))
                        raise
                    RATES_FETCHES.labels(self.name, "ok").inc()
                    return sheet
        except RetryError:
            last = failures[-1] if failures else "no answer"
            raise RatesUnavailable(
                f"{self.name} rates at {self.url}: {len(failures)} attempts failed, the last: {last}", garbage=garbage
            ) from None
        raise RatesUnavailable(f"{self.name} rates at {self.url}: no answer")  # pragma: no cover

    def _extra(self, attempt: int, reason: str) -> dict[str, Any]:
        return {"source": self.name, "url": self.url, "attempt": attempt, "attempts": self.attempts, "error": reason}


class SandboxRatesProvider(EcbRatesProvider):
    """The ECB adapter pointed at the project's rates sandbox. With no URL the sandbox
    runs inside this process (embedded mode, unit tests)."""

    def __init__(self, *, url: str, **kwargs: Any) -> None:
        transport = None
        self.app = None  # the in-process sandbox, when there is one (tests script it)
        if not url:
            from pos_payments.rates_sandbox.app import create_app

            self.app = create_app()
            transport = httpx.ASGITransport(app=self.app)
            url = "http://rates-sandbox.invalid/stats/eurofxref/eurofxref-daily.xml"
        super().__init__(url=url, name="sandbox", transport=transport, **kwargs)


class NoRatesProvider:
    """POS_RATES_PROVIDER=none: no feed; only manual rates."""

    name = "none"
    url = ""

    async def fetch(self) -> RateSheet:
        raise RatesUnavailable("no rates source is configured (POS_RATES_PROVIDER=none): managers set manual rates")

    async def close(self) -> None:
        return None
