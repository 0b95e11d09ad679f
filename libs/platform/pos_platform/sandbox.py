"""What the project's sandboxes share (the exchange-rate feed, pos_payments.rates_sandbox;
the tax API, pos_sales.tax_sandbox): each is a process of its own that a service is
pointed at, fails on demand, and is driven the same way:

    GET  /healthz
    GET  /sandbox/state     the sandbox's state, with the failure scripted
    PUT  /sandbox/failure   {"mode": "...", "times": n | null, "status": 503, "delay_seconds": s, "garbage": "..."}
    POST /sandbox/reset

The failure modes themselves (what "garbage" looks like) are each sandbox's own."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Failure:
    """What the sandbox does with its next requests: `mode` "ok" answers; the others are
    the sandbox's failure modes. `times`: the next n requests, then back to "ok"; None:
    until changed."""

    mode: str = "ok"
    times: int | None = None
    status: int = 503
    delay_seconds: float = 10.0
    garbage: str = ""


class Scripted(Protocol):
    """A sandbox's state: the failure scripted on it, and what GET /sandbox/state shows."""

    failure: Failure

    def snapshot(self) -> dict[str, Any]: ...


def next_failure(state: Scripted, ok: Failure) -> Failure:
    """The failure for the request at hand, counted against `times`; used up, the state
    is back to `ok` (the sandbox's "no failure", with its own defaults)."""
    failure = state.failure
    if failure.mode != "ok" and failure.times is not None:
        failure.times -= 1
        if failure.times <= 0:
            state.failure = replace(ok)
    return failure


def scripted_failure(body: dict[str, Any], modes: Collection[str], garbage: Collection[str], ok: Failure) -> Failure | str:
    """The failure a `PUT /sandbox/failure` body asks for (what it leaves out as in `ok`),
    or why it is refused (422)."""
    mode = body.get("mode", "ok")
    if mode not in modes:
        return f"mode: one of {', '.join(modes)}"
    kind = body.get("garbage", ok.garbage)
    if kind not in garbage:
        return f"garbage: one of {', '.join(garbage)}"
    return Failure(
        mode=mode,
        times=body.get("times"),
        status=int(body.get("status", ok.status)),
        delay_seconds=float(body.get("delay_seconds", ok.delay_seconds)),
        garbage=kind,
    )


def control_routes(
    state: Scripted, modes: Collection[str], garbage: Collection[str], ok: Failure, reset: Callable[[], None]
) -> list[Route]:
    """The routes every sandbox has: health, its state, the failure script, a reset
    (`reset` puts the state back as it started)."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def get_state(_request: Request) -> JSONResponse:
        return JSONResponse(state.snapshot())

    async def put_failure(request: Request) -> JSONResponse:
        failure = scripted_failure(await request.json(), modes, garbage, ok)
        if isinstance(failure, str):
            return JSONResponse({"detail": failure}, status_code=422)
        state.failure = failure
        return JSONResponse(state.snapshot())

    async def post_reset(_request: Request) -> JSONResponse:
        reset()
        return JSONResponse(state.snapshot())

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/sandbox/state", get_state, methods=["GET"]),
        Route("/sandbox/failure", put_failure, methods=["PUT"]),
        Route("/sandbox/reset", post_reset, methods=["POST"]),
    ]
