"""The live stock stream: each replica reads the ledger, so it sees every movement
whichever replica made it; rows committed late (a smaller id after a larger one) are
still sent, once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from pos_inventory.stream import OutletFeed, StockStreams
from pos_inventory.tables import ledger, metadata
from pos_platform.db import Database, utcnow
from pos_platform.migrate import upgrade

from .conftest import A, Auth, receive


def _insert(db: Database, row_id: int, outlet_id: str = A, product_id: str = "p1", delta: int = 1) -> None:
    with db.transaction() as uow:
        uow.session.execute(
            ledger.insert().values(
                id=row_id,
                outlet_id=outlet_id,
                product_id=product_id,
                delta=delta,
                kind="receipt",
                reason="",
                on_hand_after=delta,
                oversold=False,
                created_at=utcnow(),
            )
        )


def test_feed_sends_late_rows_once_and_only_its_outlet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/stream.db"
    upgrade("inventory", url)
    db = Database(url, metadata, "inventory")
    _insert(db, 1)

    async def scenario() -> list[list[int]]:
        feed = OutletFeed(db, A, interval=0.01, settle_seconds=60)
        feed.low_water = 1  # started after row 1
        batches = []
        _insert(db, 5)
        _insert(db, 6, outlet_id="other")
        batches.append([r["id"] for r in await feed.poll_once()])
        _insert(db, 3)  # committed after 5: an earlier id appears late
        batches.append([r["id"] for r in await feed.poll_once()])
        batches.append([r["id"] for r in await feed.poll_once()])  # nothing new
        feed.settle_seconds = 0  # once settled, the window moves on
        await feed.poll_once()
        assert feed.low_water == 5 and feed.seen == set()
        _insert(db, 7)
        batches.append([r["id"] for r in await feed.poll_once()])
        return batches

    assert asyncio.run(scenario()) == [[5], [3], [], [7]]
    db.dispose()


def test_many_clients_share_one_poller_per_outlet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/stream.db"
    upgrade("inventory", url)
    db = Database(url, metadata, "inventory")

    async def scenario() -> tuple[int, list[str], list[str]]:
        streams = StockStreams(db, interval=0.01)
        first = streams.events(A, last_event_id=None, keepalive=5, max_seconds=5)
        second = streams.events(A, last_event_id=None, keepalive=5, max_seconds=5)
        got_first = [await anext(first), await anext(first)]  # retry, ready
        got_second = [await anext(second), await anext(second)]
        feeds = len(streams.feeds)
        _insert(db, 10)
        got_first.append(await asyncio.wait_for(anext(first), 5))
        got_second.append(await asyncio.wait_for(anext(second), 5))
        await first.aclose()
        await second.aclose()
        assert streams.feeds == {}  # the last client gone, the poller stops
        return feeds, got_first, got_second

    feeds, first, second = asyncio.run(scenario())
    assert feeds == 1
    assert first[0] == "retry: 2000\n\n" and first[1].startswith("event: ready\n")
    assert first[2].startswith("id: 10\nevent: stock\ndata: ") and first[2] == second[2]
    db.dispose()


def test_stream_through_the_api_with_resume(client: TestClient, auth: Auth) -> None:
    """Server-sent events over HTTP: a receipt made while the stream is open arrives as
    a `stock` event; a client resuming with Last-Event-ID gets what it missed."""
    receive(client, auth, "p1", 2)

    def later() -> None:
        time.sleep(0.8)
        receive(client, auth, "p1", 3)

    threading.Thread(target=later).start()
    with client.stream("GET", f"/api/inventory/outlets/{A}/stream", headers=auth("cashier")) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        text = "".join(response.iter_text())  # the test settings end streams after 3 s
    events = [block for block in text.split("\n\n") if block.startswith(("id:", "event:"))]
    names = [next(line[7:] for line in block.splitlines() if line.startswith("event: ")) for block in events]
    assert names[0] == "ready" and names[-1] == "bye" and "stock" in names
    stock = next(block for block in events if "event: stock" in block)
    data = json.loads(next(line[6:] for line in stock.splitlines() if line.startswith("data: ")))
    assert (data["product_id"], data["kind"], data["delta"], data["on_hand_after"]) == ("p1", "receipt", 3, 5)
    assert data["level"] == {"on_hand": 5, "reserved": 0, "available": 5, "reorder_point": 0}
    # resume from before the first receipt: both rows come again, with their ids
    first_id = int(stock.splitlines()[0][4:]) - 1
    with client.stream(
        "GET", f"/api/inventory/outlets/{A}/stream", headers={**auth("cashier"), "Last-Event-ID": str(first_id - 1)}
    ) as response:
        resumed = "".join(response.iter_text())
    assert resumed.count("event: stock") == 2
    # another outlet's stream is not this cashier's
    assert client.get("/api/inventory/outlets/outlet-b/stream", headers=auth("cashier")).status_code == 404
