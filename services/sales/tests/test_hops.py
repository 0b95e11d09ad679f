"""The hop client sales uses in the service (aiohttp), on real sockets: an answer comes
back whole; a refused connection is known not to have been sent (nothing charged); a
server that took the request and hung up, or never answered, may have acted on it."""

from __future__ import annotations

import asyncio

import pytest

from pos_platform.testing import free_port
from pos_sales.hops import AiohttpHop, HopError


async def serve(handler) -> tuple[asyncio.AbstractServer, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/api/x"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    return await reader.readexactly(length) if length else b""


async def test_an_answer_comes_back_with_its_status_and_body() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        body = b'{"status": "held"}'
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server, url = await serve(handler)
    hop = AiohttpHop()
    try:
        answer = await hop.request("POST", url, headers={"Authorization": "Bearer t"}, json_body={"sale_id": "s1"}, timeout=5)
    finally:
        await hop.close()
        server.close()
    assert (answer.status_code, answer.json()) == (201, {"status": "held"})
    assert seen == [b'{"sale_id": "s1"}']


async def test_a_refused_connection_was_not_sent() -> None:
    hop = AiohttpHop()
    try:
        with pytest.raises(HopError) as failed:
            await hop.request("POST", f"http://127.0.0.1:{free_port()}/api/x", headers={}, json_body={}, timeout=5)
    finally:
        await hop.close()
    assert failed.value.sent is False


@pytest.mark.parametrize("behaviour", ["hang up", "no answer"])
async def test_a_request_taken_but_not_answered_may_have_been_acted_on(behaviour: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if behaviour == "no answer":
            await asyncio.sleep(3)
        writer.close()

    server, url = await serve(handler)
    hop = AiohttpHop()
    try:
        with pytest.raises(HopError) as failed:
            await hop.request("POST", url, headers={}, json_body={"sale_id": "s1"}, timeout=0.5)
    finally:
        await hop.close()
        server.close()
    assert failed.value.sent is True
