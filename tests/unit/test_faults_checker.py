"""tests/faults/driver.py: the pure parts of the fault suite's checker (no servers)."""

from __future__ import annotations

from tests.faults.driver import TillSale, Verdict, ledger_verdict


def row(product: str, delta: int) -> dict[str, object]:
    return {"product_id": product, "delta": delta, "kind": "sale"}


def test_ledger_verdict_tells_one_set_from_none_more_and_wrong() -> None:
    lines = {"a": 2, "b": 1}
    assert ledger_verdict([], lines) == "none"
    assert ledger_verdict([row("a", -2), row("b", -1)], lines) == "one"
    assert ledger_verdict([row("a", -2), row("b", -1), row("a", -2), row("b", -1)], lines) == "more"
    assert ledger_verdict([row("a", -4), row("b", -2)], lines) == "more"
    assert ledger_verdict([row("a", -2)], lines) == "wrong"  # a line never deducted
    assert ledger_verdict([row("a", -1), row("b", -1)], lines) == "wrong"
    assert ledger_verdict([row("a", -2), row("b", -1), row("c", -1)], lines) == "wrong"  # a product it did not sell


def test_a_till_sale_is_a_definitive_failure_only_with_a_4xx() -> None:
    sale = TillSale(0, {"id": "x"})
    assert not sale.definitive_failure
    for final, definitive in ((201, False), (409, True), (422, True), (None, False)):
        sale.final = final
        assert sale.definitive_failure is definitive


def test_the_jepsen_line_names_every_count_and_the_failed_checks() -> None:
    verdict = Verdict("db stopped", attempted=10, completed=7, failed=1, lost=2, recovery_s=3.25)
    verdict.checks = {"stock": False, "reports": True}
    assert verdict.line() == (
        "db stopped: attempted 10, completed 7, failed 1, lost 2, duplicated 0, phantom 0, stuck 0, recovery 3.2s; checks FAILED: stock"
    )
    assert verdict.problems() == ["2 lost", "check stock failed"]
    assert Verdict("ok", recovery_s=None).line().endswith("recovery -; checks all ok")
