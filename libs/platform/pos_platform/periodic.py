"""One shape for a service's background loops (the reconciler, the reservation sweep,
the velocity refresh, the rates refresh, each outlet's stock stream poll): run an action every so often until the
service stops, log a failed run and go on with the next."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any


async def periodic(
    action: Callable[[], Awaitable[Any]],
    *,
    every: float,
    what: str,
    logger: logging.Logger,
    first_after: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Run `action` every `every` seconds until cancelled: the first run after
    `first_after` seconds (default: `every`), each next one `every` seconds after the
    previous ended. A run that raises is logged (`<what> failed`, with the traceback and
    the log fields in `extra`) and the loop goes on. `every <= 0`: never runs."""
    if every <= 0:
        return
    await asyncio.sleep(every if first_after is None else first_after)
    while True:
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed", what, extra=extra)
        await asyncio.sleep(every)
