"""scripts/loadgen.py: the pure parts (statistics, carts, checks, log parsing, CLI)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.unit.scriptload import load_script

loadgen = load_script("loadgen")


def test_percentile_interpolates_between_ranks() -> None:
    assert loadgen.percentile([], 50) is None
    assert loadgen.percentile([7], 99) == 7.0
    assert loadgen.percentile([1, 2, 3, 4], 50) == 2.5
    assert loadgen.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert loadgen.percentile([5, 1, 3], 0) == 1.0
    assert loadgen.percentile([5, 1, 3], 100) == 5.0


def test_credentials_file_is_key_value_lines() -> None:
    text = "email: admin@example.com\npassword: s3cret: with colon\n\nnoise\n"
    assert loadgen.parse_credentials(text) == {"email": "admin@example.com", "password": "s3cret: with colon"}


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/", True),
        ("http://[::1]:8080", True),
        ("http://127.1.2.3", True),
        ("http://10.0.0.1:8080", False),
        ("http://example.com", False),
        ("ftp://127.0.0.1", False),
        ("127.0.0.1:8080", False),
    ],
)
def test_only_loopback_urls(url: str, ok: bool) -> None:
    assert loadgen.is_loopback_url(url) is ok


def test_parse_utc_accepts_z_and_naive() -> None:
    a = loadgen.parse_utc("2026-11-25T20:49:33.123456Z")
    b = loadgen.parse_utc("2026-11-25T20:49:33.123456")
    assert a == b
    assert a.utcoffset().total_seconds() == 0


def test_card_share_pays_that_share_by_card_for_exactly_the_total() -> None:
    products = [loadgen.Product(f"p{i}", price) for i, price in enumerate([50, 999, 120, 7])]
    rng = random.Random(3)
    sales = [loadgen.make_sale(rng, "o", products, lines_max=3, card_share=0.5) for _ in range(400)]
    prices = {p.id: p.price_minor for p in products}
    cards = [s for s in sales if s["tenders"][0]["kind"] == "card"]
    assert 150 < len(cards) < 250
    for sale in cards:
        [tender] = sale["tenders"]
        assert tender["amount_minor"] == sum(prices[line["product_id"]] * line["qty"] for line in sale["lines"])
        assert tender["card_token"] == "pm_card_visa"
    assert all(loadgen.make_sale(rng, "o", products, 3, card_share=0.0)["tenders"][0]["kind"] == "cash" for _ in range(50))


def test_sale_has_distinct_products_and_covers_any_total() -> None:
    products = [loadgen.Product(f"p{i}", price) for i, price in enumerate([50, 999, 120])]
    rng = random.Random(1)
    for _ in range(200):
        sale = loadgen.make_sale(rng, "outlet-1", products, lines_max=4)
        ids = [line["product_id"] for line in sale["lines"]]
        assert 1 <= len(ids) <= 3 and len(set(ids)) == len(ids)
        assert all(1 <= line["qty"] <= 3 for line in sale["lines"])
        worst_total = sum(999 * line["qty"] for line in sale["lines"])
        assert sale["tenders"] == [{"kind": "cash", "amount_minor": 10 * worst_total}]
        assert sale["outlet_id"] == "outlet-1"
    assert len({loadgen.make_sale(rng, "o", products, 4)["id"] for _ in range(50)}) == 50


def test_units_and_stock_mismatches() -> None:
    sales = [
        {"lines": [{"product_id": "a", "qty": 2}, {"product_id": "b", "qty": 1}]},
        {"lines": [{"product_id": "a", "qty": 3}]},
    ]
    sold = loadgen.units_by_product(sales)
    assert sold == {"a": 5, "b": 1}
    assert loadgen.stock_mismatches({"a": 100, "b": 10}, {"a": 95, "b": 9}, sold) == []
    (bad,) = loadgen.stock_mismatches({"a": 100, "b": 10, "c": 4}, {"a": 96, "b": 9, "c": 4}, sold)
    assert (bad.product_id, bad.moved, bad.sold) == ("a", 4, 5)


def test_route_templates_hide_ids_and_queries() -> None:
    uri = "/api/sales/1b4e28ba-2fa1-11d2-883f-0016d3cca427?x=1"
    assert loadgen.route_of("GET", uri) == "GET /api/sales/{id}"
    assert loadgen.route_of("POST", "/api/sales") == "POST /api/sales"


def test_access_log_summary() -> None:
    lines = [
        json.dumps(
            {"method": "POST", "uri": "/api/sales", "status": 201, "request_time": 0.120, "upstream_response_time": "0.119"}
        ),
        json.dumps(
            {"method": "POST", "uri": "/api/sales", "status": 503, "request_time": 0.300, "upstream_response_time": "0.1, 0.2"}
        ),
        json.dumps({"method": "GET", "uri": "/", "status": 200, "request_time": 0.0, "upstream_response_time": ""}),
        "not json",
    ]
    routes = loadgen.summarize_access_log(lines)
    assert list(routes) == ["POST /api/sales"]
    times = routes["POST /api/sales"]
    assert times.count == 2 and times.statuses == {201: 1, 503: 1}
    assert times.total_ms == pytest.approx([120.0, 300.0])
    assert times.upstream_ms == pytest.approx([119.0, 300.0])


def test_lag_bounds_with_second_resolution_ledger() -> None:
    low, high, truncated = loadgen.lag_bounds("2026-11-25T20:49:32.400000Z", ["2026-11-25T20:49:33Z", "2026-11-25T20:49:33Z"])
    assert truncated and low == pytest.approx(600.0) and high == pytest.approx(1600.0)
    # Truncation can put the ledger row before the receipt: the lower bound is 0.
    low, high, _ = loadgen.lag_bounds("2026-11-25T20:49:33.400000Z", ["2026-11-25T20:49:33Z"])
    assert low == 0.0 and high == pytest.approx(600.0)
    low, high, truncated = loadgen.lag_bounds("2026-11-25T20:49:33.400000Z", ["2026-11-25T20:49:33.450000Z"])
    assert not truncated and low == high == pytest.approx(50.0)


def test_cli_defaults_and_bounds(tmp_path: Path) -> None:
    (tmp_path / "admin-credentials.txt").write_text("email: admin@example.com\npassword: pw\n")
    args = loadgen.parse_args(["--state-dir", str(tmp_path)])
    assert (args.base_url, args.tills, args.duration, args.sales, args.lines_max, args.seed_products) == (
        "http://127.0.0.1:8080",
        8,
        20.0,
        None,
        4,
        50,
    )
    assert (args.email, args.password, args.access_log) == ("admin@example.com", "pw", "")
    by_count = loadgen.parse_args(["--state-dir", str(tmp_path), "--sales", "100"])
    assert by_count.sales == 100 and by_count.duration == loadgen.MAX_DURATION_SECONDS
    with pytest.raises(SystemExit):
        loadgen.parse_args(["--state-dir", str(tmp_path), "--base-url", "http://192.168.1.5:8080"])
    with pytest.raises(SystemExit):
        loadgen.parse_args(["--state-dir", str(tmp_path), "--duration", "100000"])
    with pytest.raises(SystemExit):
        loadgen.parse_args(["--state-dir", str(tmp_path / "missing")])


def test_end_now_stops_issuing_sales_before_the_duration_is_up() -> None:
    import time

    args = loadgen.parse_args(["--tills", "2", "--duration", "60", "--email", "a@example.com", "--password", "x"])
    run = loadgen.Run(args)
    run.deadline = time.monotonic() + 60
    assert run.take_ticket() and run.issued == 1
    run.end_now()
    assert not run.take_ticket() and run.issued == 1
