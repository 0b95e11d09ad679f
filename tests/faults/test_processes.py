"""A replica killed (kill -9) in the middle of a burst of cash sales, then started again
the way scripts/stack.py starts it (`stack.py restart <name>`)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.conftest import FaultStack
from tests.faults.driver import Fault, Load

pytestmark = pytest.mark.faults


def kill_and_restart(fault_stack: FaultStack, name: str, down_for: float = 5.0) -> Fault:
    async def fault(load: Load) -> float:
        await asyncio.sleep(3)
        load.fault_begins()
        await asyncio.to_thread(fault_stack.kill, name)
        await asyncio.sleep(down_for)
        await asyncio.to_thread(fault_stack.restart, name)
        return time.monotonic()

    return fault


async def test_inventory_replica_killed_mid_burst(scenario, fault_stack: FaultStack) -> None:
    verdict = await scenario("inventory replica kill -9", kill_and_restart(fault_stack, "inventory-1"), max_sales=200, think=0.4)
    assert not verdict.problems(), verdict.line()


async def test_sales_replica_killed_mid_burst(scenario, fault_stack: FaultStack) -> None:
    verdict = await scenario("sales replica kill -9", kill_and_restart(fault_stack, "sales-1"), max_sales=200, think=0.4)
    assert not verdict.problems(), verdict.line()
