"""scripts/stack.py --replicas: how many instances of each service the local stack runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.scriptload import load_script

stack = load_script("stack")


def config(**replicas: tuple[tuple[str, int], ...]) -> Any:
    """A stack on the default ports (gateway 8080, instances from 8100)."""
    return stack.Config(
        state_dir=stack.ROOT,
        gateway_port=8080,
        port_base=8100,
        db_prefix="pos_",
        db_host="h",
        db_port=1,
        vhost="/",
        rabbit_host="h",
        **replicas,
    )


def test_the_default_is_two_of_sales_and_inventory_and_one_of_the_rest() -> None:
    counts = dict(stack.parse_replicas(None))
    assert counts == {"inventory": 2, "sales": 2}
    cfg = config()
    assert cfg.ports("sales") == [8104, 8114]
    assert cfg.ports("payments") == [8105]


def test_one_of_each_for_a_small_box() -> None:
    cfg = config(replicas=stack.parse_replicas("sales=1,inventory=1"))
    assert [cfg.ports(s) for s in ("sales", "inventory", "reports")] == [[8104], [8103], [8106]]
    assert dict(stack.parse_replicas("reports=3"))["reports"] == 3


@pytest.mark.parametrize("text", ["till=2", "sales=0", "sales=ten", "sales", "sales=12"])
def test_a_wrong_count_names_what_is_allowed(text: str) -> None:
    with pytest.raises(SystemExit, match="SERVICE=N"):
        stack.parse_replicas(text)
