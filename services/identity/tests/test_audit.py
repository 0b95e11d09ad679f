"""The audit chain: every link checked, the first broken one reported."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from pos_contracts import Envelope, new_envelope
from pos_contracts.events import AuditRecorded
from pos_identity import audit
from pos_identity.config import Settings
from pos_identity.handlers import on_audit_recorded
from pos_identity.tables import audit_log
from pos_platform.db import Database
from pos_platform.testing import app_state

from .conftest import Chain


def _db(client: TestClient) -> Database:
    return app_state(client).ctx.db


def test_chain_is_intact_and_verifiable_from_the_command_line(
    client: TestClient, chain: Chain, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client.get("/api/identity/audit/verify", headers=chain.admin).json()["ok"] is True
    assert audit.main(["verify", "--database-url", settings.database_url]) == 0
    out = capsys.readouterr().out
    assert "audit chain OK" in out


def test_rows_cannot_be_updated_or_deleted_through_sql(client: TestClient, chain: Chain) -> None:
    db = _db(client)
    for statement in ("UPDATE audit_log SET action = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"):
        try:
            with db.transaction() as uow:
                uow.session.execute(text(statement))
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")


def _tamper(client: TestClient, statement: str) -> None:
    """What someone with DDL rights could do: drop the guard, edit, put it back."""
    with _db(client).engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.exec_driver_sql(statement)


def test_an_edited_entry_is_the_first_broken_link(
    client: TestClient, chain: Chain, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = client.get("/api/identity/audit", headers=chain.admin).json()["entries"]
    assert len(entries) >= 6
    _tamper(client, "UPDATE audit_log SET actor_email = 'someone-else@example.com' WHERE seq = 4")
    verdict = client.get("/api/identity/audit/verify", headers=chain.admin).json()
    assert (verdict["ok"], verdict["broken_seq"]) == (False, 4)
    assert "changed" in verdict["reason"]
    assert audit.main(["verify", "--database-url", settings.database_url]) == 1
    assert "BROKEN at seq 4" in capsys.readouterr().out


def test_a_deleted_entry_and_a_cut_tail_are_found(client: TestClient, chain: Chain) -> None:
    _tamper(client, "DELETE FROM audit_log WHERE seq = 3")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert "missing" in verdict.reason


def test_a_cut_tail_is_found(client: TestClient, chain: Chain) -> None:
    last = audit.verify(_db(client)).head_seq
    _tamper(client, f"DELETE FROM audit_log WHERE seq = {last}")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, last)


def test_a_rewritten_link_is_found(client: TestClient, chain: Chain) -> None:
    # Recomputing one row's hash is not enough: the next row still names the old one.
    db = _db(client)
    with db.engine.connect() as conn:
        row = dict(conn.execute(select(audit_log).where(audit_log.c.seq == 2)).mappings().one())
    row["actor_email"] = "forged@example.com"
    row["details"] = {}
    forged = audit.entry_hash(row["prev_hash"], row)
    _tamper(client, f"UPDATE audit_log SET actor_email = 'forged@example.com', details = '{{}}', hash = '{forged}' WHERE seq = 2")
    verdict = audit.verify(db)
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert "prev_hash" in verdict.reason


def test_other_services_entries_join_the_chain(client: TestClient, chain: Chain) -> None:
    db = _db(client)
    event = AuditRecorded(
        action="sale.refunded",
        actor_id="cashier-1",
        outlet_id=chain.a,
        target_type="sale",
        target_id="sale-9",
        details={"amount_minor": 1250, "approved_by": "manager-1"},
    )
    envelope = new_envelope(event, producer="sales", outlet_id=chain.a, correlation_id="req-1")
    with db.transaction() as uow:
        on_audit_recorded(uow, event, envelope)
    entry = client.get("/api/identity/audit", params={"action": "sale.refunded"}, headers=chain.admin).json()["entries"][0]
    assert (entry["service"], entry["target_id"], entry["request_id"]) == ("sales", "sale-9", "req-1")
    assert entry["details"]["approved_by"] == "manager-1"
    assert audit.verify(db).ok


# --- entries from other services (AuditRecorded, ADR 0043) -----------------------------


def _delivered(chain: Chain, action: str, target_id: str, producer: str, **details: Any) -> Envelope:
    event = AuditRecorded(
        action=action, actor_id="cashier-1", outlet_id=chain.a, target_type="x", target_id=target_id, details=details
    )
    return new_envelope(event, producer=producer, outlet_id=chain.a, correlation_id=f"req-{target_id}")


def _entries(client: TestClient, chain: Chain, **params: Any) -> list[dict[str, Any]]:
    return client.get("/api/identity/audit", params={"limit": 500, **params}, headers=chain.admin).json()["entries"]


def test_identity_consumes_audit_recorded_from_every_producer() -> None:
    from pos_contracts.topology import PUBLISHES, consumers_of
    from pos_identity.handlers import handlers

    assert "AuditRecorded" in handlers()
    for producer in ("sales", "catalog", "inventory", "payments"):
        assert "AuditRecorded" in PUBLISHES[producer]
        assert consumers_of(f"{producer}.AuditRecorded") == ["identity"]


def test_a_duplicated_or_redelivered_event_is_appended_once(client: TestClient, chain: Chain) -> None:
    consumer = app_state(client).ctx.consumer
    refund = _delivered(chain, "sale.refunded", "refund-1", "sales", total_minor=1250)
    adjusted = _delivered(chain, "stock.adjusted", "product-1", "inventory", delta=-3)
    before = audit.verify(_db(client)).head_seq
    assert consumer.handle(refund) is True
    assert consumer.handle(refund) is False  # redelivered after the commit (the ack was lost)
    asyncio.run(consumer.deliver_batch([adjusted, refund, adjusted]))  # twice in one batch, and the earlier one again
    appended = [e for e in _entries(client, chain) if e["seq"] > before]
    assert [(e["service"], e["action"], e["target_id"]) for e in appended] == [
        ("sales", "sale.refunded", "refund-1"),
        ("inventory", "stock.adjusted", "product-1"),
    ]
    assert appended[0]["details"]["event_id"] == refund.event_id and appended[0]["request_id"] == "req-refund-1"
    assert appended[0]["details"]["total_minor"] == 1250
    assert audit.verify(_db(client)).ok


@pytest.fixture
def appended(client: TestClient, chain: Chain) -> list[dict[str, Any]]:
    """Three entries from other services at the end of the chain."""
    consumer = app_state(client).ctx.consumer
    for envelope in (
        _delivered(chain, "sale.refunded", "refund-1", "sales", total_minor=1250),
        _delivered(
            chain, "product.price_changed", "product-1", "catalog", before={"price_minor": 800}, after={"price_minor": 950}
        ),
        _delivered(chain, "stock.adjusted", "product-2", "inventory", delta=-3),
    ):
        assert consumer.handle(envelope)
    entries = _entries(client, chain)
    assert audit.verify(_db(client)).ok
    return entries[-3:]


def test_an_edited_figure_in_an_appended_entry_is_found_and_named(
    client: TestClient, chain: Chain, appended: list[dict[str, Any]], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    price = appended[1]
    _tamper(client, f"UPDATE audit_log SET details = REPLACE(details, '950', '590') WHERE seq = {price['seq']}")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq, verdict.reason) == (False, price["seq"], "contents changed since it was written")
    assert verdict.record.startswith(f"seq {price['seq']} catalog product.price_changed x product-1 at ")
    assert audit.main(["verify", "--database-url", settings.database_url]) == 1
    assert (
        f"BROKEN at seq {price['seq']} [seq {price['seq']} catalog product.price_changed x product-1" in capsys.readouterr().out
    )
    shown = client.get("/api/identity/audit/verify", headers=chain.admin).json()
    assert (shown["ok"], shown["broken_seq"]) == (False, price["seq"]) and "product.price_changed" in shown["record"]


def test_an_edited_producer_or_actor_is_found(client: TestClient, chain: Chain, appended: list[dict[str, Any]]) -> None:
    refund = appended[0]
    _tamper(client, f"UPDATE audit_log SET service = 'identity', actor_id = 'someone-else' WHERE seq = {refund['seq']}")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, refund["seq"])


def test_a_deleted_appended_entry_is_found(client: TestClient, chain: Chain, appended: list[dict[str, Any]]) -> None:
    _tamper(client, f"DELETE FROM audit_log WHERE seq = {appended[1]['seq']}")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, appended[1]["seq"])
    assert "missing" in verdict.reason and "inventory stock.adjusted" in verdict.record


def test_reordered_entries_are_found(client: TestClient, chain: Chain, appended: list[dict[str, Any]]) -> None:
    first, second = appended[0]["seq"], appended[1]["seq"]
    # Swap the two rows' places in the chain (their seq), through a free number.
    _tamper(client, f"UPDATE audit_log SET seq = -1 WHERE seq = {first}")
    with _db(client).engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE audit_log SET seq = {first} WHERE seq = {second}")
        conn.exec_driver_sql(f"UPDATE audit_log SET seq = {second} WHERE seq = -1")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, first)
    assert "catalog product.price_changed" in verdict.record


# --- export -------------------------------------------------------------------------------


def test_an_admin_exports_a_date_range_as_json_lines_or_csv(
    client: TestClient,
    chain: Chain,
    appended: list[dict[str, Any]],
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    params = {"since": today.isoformat(), "until": tomorrow.isoformat()}
    response = client.get("/api/identity/audit/export", params=params, headers=chain.admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert f'filename="audit-{today}_{tomorrow}.jsonl"' in response.headers["content-disposition"]
    lines = [json.loads(line) for line in response.text.splitlines()]
    exported = {e["seq"]: e for e in lines}
    for entry in appended:
        assert (exported[entry["seq"]]["service"], exported[entry["seq"]]["hash"]) == (entry["service"], entry["hash"])
    # consecutive entries link up in the file as in the database
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(lines) if b["seq"] == a["seq"] + 1)
    assert [e["seq"] for e in lines] == sorted(e["seq"] for e in lines)
    # the export was itself recorded
    assert _entries(client, chain, action="audit.exported")[-1]["details"]["format"] == "jsonl"

    as_csv = client.get("/api/identity/audit/export", params={**params, "format": "csv"}, headers=chain.admin)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    refund = next(r for r in rows if r["target_id"] == "refund-1")
    assert (refund["service"], refund["action"], json.loads(refund["details"])["total_minor"]) == ("sales", "sale.refunded", 1250)

    # a range with nothing in it, and one the wrong way round
    empty = client.get("/api/identity/audit/export", params={"since": "2020-01-01", "until": "2020-01-02"}, headers=chain.admin)
    assert (empty.status_code, empty.text) == (200, "")
    wrong = client.get(
        "/api/identity/audit/export", params={"since": tomorrow.isoformat(), "until": today.isoformat()}, headers=chain.admin
    )
    assert wrong.status_code == 422 and "must be after since" in wrong.text
    # admins only
    assert client.get("/api/identity/audit/export", headers=chain.login(chain.manager)).status_code == 403

    # the command line gives the same entries
    out = tmp_path / "audit.jsonl"
    code = audit.main(
        [
            "export",
            "--database-url",
            settings.database_url,
            "--since",
            today.isoformat(),
            "--until",
            tomorrow.isoformat(),
            "--output",
            str(out),
        ]
    )
    assert code == 0
    from_cli = [json.loads(line) for line in out.read_text().splitlines()]
    cli_hashes = {e["seq"]: e["hash"] for e in from_cli}
    assert all(cli_hashes[e["seq"]] == e["hash"] for e in lines)
    assert (
        audit.main(
            [
                "export",
                "--database-url",
                settings.database_url,
                "--since",
                "2020-01-01",
                "--until",
                "2020-01-02",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [",".join(audit.EXPORT_COLUMNS)]
