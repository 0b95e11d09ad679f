"""The fast path keeps its promises under load: a short run of the project's load
generator (300 sales from 8 tills, half of them by card through the sandbox, both
replicas of inventory and sales behind the gateway) and every one of its checks must
hold: stock moved by exactly what was sold with nothing left reserved, every sale
counted by sales and by the reports to the cent, fulfilled, one set of ledger rows each,
the right change, each card captured exactly once. The speed is not asserted here: it
is measured by scripts/bench_sale_path.py (docs/performance.md)."""

from __future__ import annotations

import asyncio

import pytest

from tests.stack_fixture import Stack
from tests.unit.scriptload import load_script

pytestmark = pytest.mark.e2e


def test_three_hundred_sales_under_load_pass_every_check(local_stack: Stack) -> None:
    loadgen = load_script("loadgen")
    args = loadgen.parse_args(
        [
            "--base-url",
            local_stack.base_url,
            "--state-dir",
            str(local_stack.state_dir),
            "--email",
            local_stack.admin_email,
            "--password",
            local_stack.admin_password,
            "--tills",
            "8",
            "--sales",
            "300",
            "--card-share",
            "0.5",
            "--seed",
            "13",
            "--access-log",
            "",
        ]
    )
    result, ok = asyncio.run(loadgen.execute(args))
    print(loadgen.render(result))
    failed = [name for name, passed in result["checks"].items() if not passed]
    assert ok and not failed, f"loadgen checks failed: {failed}"
    assert result["posted"] == 300
    assert result["completed"] == 300, result["failures"]
    assert result["card_payments"]["checked"] > 100
