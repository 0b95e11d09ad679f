"""Waiting for what happens asynchronously (events, replicas, a page): one `eventually`
for every full-stack test folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0, every: float = 0.2) -> Any:
    """Poll until `check` returns something truthy and return it; an HTTP error on the
    way (a service restarting) counts as "not yet". Fails naming `what` and the last
    value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
