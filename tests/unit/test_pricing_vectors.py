"""The shared pricing vectors (web/src/lib/pricing.vectors.json) are what the sales
service's pricing domain says today: regenerated in memory and compared with the
committed file, so a change to pos_sales.domain without new vectors fails here (and the
till's pricing.ts is then checked against the new figures by its vitest test)."""

from __future__ import annotations

import json

from tests.unit.scriptload import load_script

vectors = load_script("pricing_vectors")


def test_the_committed_vectors_are_the_domain_s_current_answers() -> None:
    fresh = vectors.render(vectors.build())
    committed = vectors.OUTPUT.read_text()
    assert committed == fresh, "web/src/lib/pricing.vectors.json is stale: run .venv/bin/python scripts/pricing_vectors.py"


def test_the_vectors_cover_the_policies_and_the_refusals() -> None:
    data = json.loads(vectors.render(vectors.build()))["vectors"]
    assert len(data) >= 300
    assert {v["policy"]["rounding_mode"] for v in data} == {"half_up", "half_even", "down", "up"}
    assert {v["policy"]["prices_include_tax"] for v in data} == {True, False}
    assert any("error" in v["expected"] for v in data)
    priced = [v["expected"] for v in data if "cart" in v["expected"]]
    assert any(e["settlement"].get("rounding_minor") for e in priced)
    assert any(any(line["cart_discount_minor"] for line in e["cart"]["lines"]) for e in priced)
    assert any(e["cart"]["needs_approval"] for e in priced)
    assert any(max(line["gross_minor"] for line in e["cart"]["lines"]) * 10_000 > 2**53 for e in priced)


def test_check_mode_says_when_the_file_is_stale(tmp_path) -> None:
    stale = tmp_path / "v.json"
    stale.write_text("{}")
    assert vectors.main(["--check", "--output", str(stale)]) == 1
    assert vectors.main(["--output", str(stale)]) == 0
    assert vectors.main(["--check", "--output", str(stale)]) == 0
