"""The platform's background loop: runs on time, survives a failed run (logged), stops
when cancelled, and never runs when switched off."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pos_platform.periodic import periodic


def test_runs_again_after_a_failure_and_stops_when_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def action() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("the database went away")

    async def main() -> None:
        task = asyncio.create_task(
            periodic(
                action,
                every=0.01,
                first_after=0,
                what="the sweep",
                logger=logging.getLogger("test.periodic"),
                extra={"outlet_id": "o-1"},
            )
        )
        while len(runs) < 4:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.ERROR, logger="test.periodic"):
        asyncio.run(main())
    assert len(runs) >= 4  # the failed second run did not end the loop
    assert [r.getMessage() for r in caplog.records] == ["the sweep failed"]
    assert [getattr(r, "outlet_id", None) for r in caplog.records] == ["o-1"]  # the loop's log fields
    assert "the database went away" in caplog.text


def test_switched_off_it_never_runs() -> None:
    async def action() -> None:
        raise AssertionError("ran")

    asyncio.run(asyncio.wait_for(periodic(action, every=0, what="x", logger=logging.getLogger("x")), 1))
