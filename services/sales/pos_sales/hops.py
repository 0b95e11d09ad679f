"""The HTTP client of sales' synchronous hops (inventory, payments): aiohttp in the
service, and the same small interface over an httpx transport for tests that stand in
for the other services in-process (ADR 0053).

Measured on this box (8 concurrent requests to a local uvicorn, client CPU per request):
httpx 0.84-0.96 ms, aiohttp 0.11-0.12 ms; with two hops a sale, httpx was ~30 % of a
sales process's CPU under load.

A failure says whether the request may have reached the other side: `sent` is False
only when no connection was made (refused, or none within the connect timeout), which
is what lets payments' caller tell "nothing was charged" from "not known".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx

from pos_platform import tracing


@dataclass(frozen=True)
class HopResponse:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class HopError(Exception):
    """The hop got no answer. `sent`: False if the request provably never left."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Hop(Protocol):
    """`route`: the path's template (`/api/inventory/reservations/{sale_id}`), which
    names the hop's client span (the URL itself is only an attribute of it);
    `propagate`: send the trace context along (False for a third party's API)."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        timeout: float,
        route: str | None = None,
        propagate: bool = True,
    ) -> HopResponse: ...

    async def close(self) -> None: ...


class AiohttpHop:
    """One keep-alive pool for every hop of the process (made in the running loop)."""

    def __init__(self, connect_timeout: float = 2.0, limit: int = 200) -> None:
        self.connect_timeout = connect_timeout
        self.limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # keepalive below nginx's and uvicorn's idle timeouts: a connection the other
            # side is closing is not picked for a POST (which is never re-sent).
            connector = aiohttp.TCPConnector(limit=self.limit, keepalive_timeout=3.0, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps, trust_env=False)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        timeout: float,
        route: str | None = None,
        propagate: bool = True,
    ) -> HopResponse:
        # `connect` covers waiting for a pooled connection and making a new one: a
        # request that times out there never left.
        limits = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=timeout)
        with tracing.client_span(method, url, headers, route=route, propagate=propagate) as span:
            try:
                async with self._client().request(method, url, json=json_body, headers=headers, timeout=limits) as response:
                    if span is not None:
                        span.set_attribute("http.response.status_code", response.status)
                    return HopResponse(response.status, await response.read())
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                raise HopError(repr(exc), sent=False) from exc
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise HopError(repr(exc), sent=True) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxHop:
    """The same interface over an httpx transport (tests: the other services as fakes)."""

    NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

    def __init__(self, transport: httpx.AsyncBaseTransport, connect_timeout: float = 2.0) -> None:
        self._http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(30.0, connect=connect_timeout))
        self.connect_timeout = connect_timeout

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        timeout: float,
        route: str | None = None,
        propagate: bool = True,
    ) -> HopResponse:
        with tracing.client_span(method, url, headers, route=route, propagate=propagate) as span:
            try:
                response = await self._http.request(
                    method, url, json=json_body, headers=headers, timeout=httpx.Timeout(timeout, connect=self.connect_timeout)
                )
            except httpx.TransportError as exc:
                raise HopError(repr(exc), sent=not isinstance(exc, self.NOT_SENT)) from exc
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
            return HopResponse(response.status_code, response.content)

    async def close(self) -> None:
        await self._http.aclose()
