"""Faults in what the services stand on: the broker (stopped, connections cut) and the
database (stopped for 5 s, for 30 s), each in the middle of a burst of cash sales."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.conftest import FaultStack
from tests.faults.driver import Fault, Load

pytestmark = pytest.mark.faults


async def test_rabbitmq_stopped_mid_burst_and_started_after_10s(scenario, fault_stack: FaultStack) -> None:
    async def fault(load: Load) -> float:
        await asyncio.sleep(3)
        load.fault_begins()
        await asyncio.to_thread(fault_stack.mq.stop_app)
        await asyncio.sleep(10)
        await asyncio.to_thread(fault_stack.mq.start_app)
        return time.monotonic()

    verdict = await scenario("rabbitmq stop_app 10 s", fault, max_sales=200, think=0.6)
    assert not verdict.problems(), verdict.line()


async def test_broker_connections_closed_five_times(scenario, fault_stack: FaultStack) -> None:
    async def fault(load: Load) -> float:
        await asyncio.sleep(3)
        load.fault_begins()
        for i in range(5):
            if i:
                await asyncio.sleep(3)
            await asyncio.to_thread(fault_stack.mq.close_all_connections, fault_stack.vhost)
        return time.monotonic()

    verdict = await scenario("broker connections closed 5x", fault, max_sales=200, think=0.6)
    assert not verdict.problems(), verdict.line()


def mariadb_stopped(fault_stack: FaultStack, seconds: float) -> Fault:
    async def fault(load: Load) -> float:
        # Tills at full speed first, and the database goes away while the consumers have
        # a backlog (messages ready or delivered and not yet acked): that is when a
        # transient database error meets events in flight.
        await asyncio.sleep(3)
        backlog, waited_until = 0, time.monotonic() + 10
        while time.monotonic() < waited_until:
            queues = await asyncio.to_thread(fault_stack.mq.queues, fault_stack.vhost)
            backlog = sum(queues.get(f"pos.{svc}", {}).get("messages", 0) for svc in ("inventory", "sales", "reports"))
            if backlog >= 10:
                break
        load.notes["consumer_backlog_when_stopped"] = backlog
        load.fault_begins()
        await asyncio.to_thread(fault_stack.db.stop)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(fault_stack.db.start)
        return time.monotonic()

    return fault


async def test_mariadb_stopped_for_5s_mid_burst(scenario, fault_stack: FaultStack) -> None:
    verdict = await scenario("mariadb stopped 5 s", mariadb_stopped(fault_stack, 5), max_sales=300, think=0.02)
    assert not verdict.problems(), verdict.line()


async def test_mariadb_stopped_for_30s_mid_burst(scenario, fault_stack: FaultStack) -> None:
    verdict = await scenario("mariadb stopped 30 s", mariadb_stopped(fault_stack, 30), max_sales=300, think=0.02)
    assert not verdict.problems(), verdict.line()
