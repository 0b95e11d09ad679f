"""The audit chain: every link checked, the first broken one reported."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from pos_contracts import new_envelope
from pos_contracts.events import AuditRecorded
from pos_identity import audit
from pos_identity.handlers import on_audit_recorded
from pos_identity.tables import audit_log


def _db(client: TestClient):
    return client.app.state.ctx.db


def test_chain_is_intact_and_verifiable_from_the_command_line(client: TestClient, chain, settings, capsys) -> None:
    assert client.get("/api/identity/audit/verify", headers=chain.admin).json()["ok"] is True
    assert audit.main(["verify", "--database-url", settings.database_url]) == 0
    out = capsys.readouterr().out
    assert "audit chain OK" in out


def test_rows_cannot_be_updated_or_deleted_through_sql(client: TestClient, chain) -> None:
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


def test_an_edited_entry_is_the_first_broken_link(client: TestClient, chain, settings, capsys) -> None:
    entries = client.get("/api/identity/audit", headers=chain.admin).json()["entries"]
    assert len(entries) >= 6
    _tamper(client, "UPDATE audit_log SET actor_email = 'someone-else@example.com' WHERE seq = 4")
    verdict = client.get("/api/identity/audit/verify", headers=chain.admin).json()
    assert (verdict["ok"], verdict["broken_seq"]) == (False, 4)
    assert "changed" in verdict["reason"]
    assert audit.main(["verify", "--database-url", settings.database_url]) == 1
    assert "BROKEN at seq 4" in capsys.readouterr().out


def test_a_deleted_entry_and_a_cut_tail_are_found(client: TestClient, chain) -> None:
    _tamper(client, "DELETE FROM audit_log WHERE seq = 3")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert "missing" in verdict.reason


def test_a_cut_tail_is_found(client: TestClient, chain) -> None:
    last = audit.verify(_db(client)).head_seq
    _tamper(client, f"DELETE FROM audit_log WHERE seq = {last}")
    verdict = audit.verify(_db(client))
    assert (verdict.ok, verdict.broken_seq) == (False, last)


def test_a_rewritten_link_is_found(client: TestClient, chain) -> None:
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


def test_other_services_entries_join_the_chain(client: TestClient, chain) -> None:
    db = _db(client)
    event = AuditRecorded(
        action="sale.refunded", actor_id="cashier-1", outlet_id=chain.a, target_type="sale", target_id="sale-9",
        details={"amount_minor": 1250, "approved_by": "manager-1"},
    )
    envelope = new_envelope(event, producer="sales", outlet_id=chain.a, correlation_id="req-1")
    with db.transaction() as uow:
        on_audit_recorded(uow, event, envelope)
    entry = client.get("/api/identity/audit", params={"action": "sale.refunded"}, headers=chain.admin).json()["entries"][0]
    assert (entry["service"], entry["target_id"], entry["request_id"]) == ("sales", "sale-9", "req-1")
    assert entry["details"]["approved_by"] == "manager-1"
    assert audit.verify(db).ok
