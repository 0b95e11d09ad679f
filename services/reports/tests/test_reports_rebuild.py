"""A random history fed three ways: one event per transaction through the consumer,
replayed in batches from a file by the rebuild command, and replayed from per-producer
HTTP feeds. Every report must come out identical, and equal to sums taken straight
from the events."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client import REGISTRY

from pos_contracts import Envelope
from pos_platform.testing import mint_token
from pos_reports import rebuild
from services.reports.tests.conftest import make_client
from services.reports.tests.workload import OUTLETS, fetch_all, history


@pytest.fixture(scope="module")
def events() -> list[Envelope]:
    return history()


def test_live_consumer_file_replay_and_feed_replay_agree(
    tmp_path: Path,
    keys: tuple[Path, Path],
    events: list[Envelope],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = mint_token(keys[0], "admin", [])

    with make_client(f"sqlite:///{tmp_path}/live.db", keys[1]) as live:
        for env in events:
            live.app.state.ctx.consumer.handle(env)
        expected = fetch_all(live, token)

    # 1. the rebuild command, from a file, in odd-sized batches
    path = tmp_path / "history.jsonl"
    path.write_text("".join(env.model_dump_json() + "\n" for env in events))
    url = f"sqlite:///{tmp_path}/from-file.db"
    assert rebuild.main(["--file", str(path), "--database-url", url, "--yes", "--batch-size", "37"]) == 0
    printed = capsys.readouterr()
    summary = json.loads(printed.out.strip().splitlines()[-1])
    unique = len({env.event_id for env in events})
    assert summary["applied"] == unique and summary["duplicates"] == len(events) - unique and summary["poison"] == 0
    assert "events in" in printed.err
    with make_client(url, keys[1]) as replayed:
        assert fetch_all(replayed, token) == expected

    # 2. per-producer HTTP feeds, merged by occurred_at; replayed twice on top: nothing changes
    feeds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for env in events:
        feeds[env.producer].append(json.loads(env.model_dump_json()))

    def serve(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer feed-token"
        producer = request.url.path.split("/")[2]
        after = int(request.url.params.get("after", 0))
        limit = int(request.url.params["limit"])
        page = feeds[producer][after : after + limit]
        return httpx.Response(
            200, json={"events": page, "next_after": after + len(page) if page else None, "total": len(feeds[producer])}
        )

    url = f"sqlite:///{tmp_path}/from-feeds.db"
    real_client = httpx.Client
    transport = httpx.MockTransport(serve)
    monkeypatch.setattr(rebuild.httpx, "Client", lambda **kwargs: real_client(transport=transport, **kwargs))
    args = [f"--feed=http://gw/api/{p}/events" for p in sorted(feeds)]
    args += ["--token", "feed-token", "--database-url", url, "--yes", "--page-size", "50"]
    assert rebuild.main(args) == 0
    assert rebuild.main([*args, "--keep"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["applied"] == 0
    monkeypatch.undo()
    with make_client(url, keys[1]) as replayed:
        assert fetch_all(replayed, token) == expected


def test_the_live_consumer_in_batches_gives_what_it_gives_one_event_at_a_time(
    tmp_path: Path, keys: tuple[Path, Path], events: list[Envelope]
) -> None:
    """The consumer's batch path (deliveries applied a batch per transaction, one
    `Changes` for all of them) against its one-event path, on the same history with its
    duplicates: every report identical."""
    token = mint_token(keys[0], "admin", [])
    with make_client(f"sqlite:///{tmp_path}/one-by-one.db", keys[1]) as live:
        for env in events:
            live.app.state.ctx.consumer.handle(env)
        expected = fetch_all(live, token)
    with make_client(f"sqlite:///{tmp_path}/batches.db", keys[1]) as batched:
        consumer = batched.app.state.ctx.consumer
        batches_before = REGISTRY.get_sample_value("pos_consumer_batch_size_count", {"service": "reports"}) or 0
        for start in range(0, len(events), 29):
            batched.portal.call(consumer.deliver_batch, events[start : start + 29])  # in the app's loop, as the bus does
        batches = (REGISTRY.get_sample_value("pos_consumer_batch_size_count", {"service": "reports"}) or 0) - batches_before
        assert batches == -(-len(events) // 29), "some batches fell back to one event at a time"
        assert fetch_all(batched, token) == expected


def test_reports_equal_sums_taken_straight_from_the_events(
    tmp_path: Path, keys: tuple[Path, Path], events: list[Envelope]
) -> None:
    token = mint_token(keys[0], "admin", [])
    zones = {o: ZoneInfo(tz) for o, _, tz in OUTLETS}
    sales = {}
    refunds = {}
    for env in events:
        if env.type == "SaleCompleted":
            sales.setdefault(env.payload["sale_id"], env.payload)
        elif env.type == "SaleRefunded":
            refunds.setdefault(env.payload["refund_id"], env.payload)

    def local_day(payload: dict[str, Any], field: str) -> date:
        return datetime.fromisoformat(payload[field]).astimezone(zones[payload["outlet_id"]]).date()

    per_currency: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_product: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_tender: dict[tuple[str, str], int] = defaultdict(int)
    per_outlet_day: dict[tuple[str, date], int] = defaultdict(int)
    for s in sales.values():
        c = per_currency[s["currency"]]
        c["sales_count"] += 1
        c["gross_minor"] += s["total_minor"]
        c["tax_minor"] += s["tax_minor"]
        c["items_sold"] += sum(ln["qty"] for ln in s["lines"])
        per_outlet_day[(s["outlet_id"], local_day(s, "completed_at"))] += s["total_minor"]
        for ln in s["lines"]:
            per_product[(ln["product_id"], s["currency"])]["qty"] += ln["qty"]
            per_product[(ln["product_id"], s["currency"])]["gross_minor"] += ln["total_minor"]
        for t in s["tenders"]:
            per_tender[(t["kind"], s["currency"])] += t["amount_minor"]
    for r in refunds.values():
        per_currency[r["currency"]]["refund_minor"] += r["total_minor"]
        per_currency[r["currency"]]["refund_count"] += 1
        for ln in r["lines"]:
            per_product[(ln["product_id"], r["currency"])]["refund_qty"] += ln["qty"]

    with make_client(f"sqlite:///{tmp_path}/live.db", keys[1]) as live:
        for env in events:
            live.app.state.ctx.consumer.handle(env)
        got = fetch_all(live, token)

    daily = got["sales/daily []"]
    assert daily["totals"] is None  # EUR and USD
    for total in daily["totals_by_currency"]:
        for field, value in per_currency[total["currency"]].items():
            assert total[field] == value, (total["currency"], field)
    assert {
        (r["outlet_id"], date.fromisoformat(r["day"])): r["gross_minor"] for r in daily["rows"] if r["sales_count"]
    } == per_outlet_day
    for key in ("sales/hourly []", "sales/cashiers []", "sales/outlets []"):
        assert got[key]["totals_by_currency"] == daily["totals_by_currency"], key
    items = got["sales/items [('limit', 1000)]"]["rows"]
    assert {
        (r["product_id"], r["currency"]): {"qty": r["qty"], "gross_minor": r["gross_minor"], "refund_qty": r["refund_qty"]}
        for r in items
    } == {k: {"qty": v["qty"], "gross_minor": v["gross_minor"], "refund_qty": v["refund_qty"]} for k, v in per_product.items()}
    categories = got["sales/categories []"]["totals_by_currency"]
    assert {c["currency"]: c["gross_minor"] for c in categories} == {c: v["gross_minor"] for c, v in per_currency.items()}
    tenders = got["sales/tenders []"]
    assert {(r["kind"], r["currency"]): r["amount_minor"] for r in tenders["rows"]} == per_tender
    assert {(r["kind"], r["currency"]): r["captured_minor"] for r in tenders["rows"]} == per_tender
    assert tenders["split_sales_count"] == sum(1 for s in sales.values() if len(s["tenders"]) > 1)
