"""The audit log: append-only and hash-chained, so an edited, inserted or deleted row
breaks the chain at that point.

Each row's hash is SHA-256 over the previous row's hash and the row's own fields in a
canonical JSON form; the first row links to GENESIS. `audit_head` (one row) holds the
last seq and hash: appending locks it, so every replica extends the same linear chain,
and a chain cut short at the end no longer matches it.

    python -m pos_identity.audit verify     # exit 1 and the first broken link, if any
    python -m pos_identity.audit head       # seq and hash of the last entry (to anchor elsewhere)
    python -m pos_identity.audit export --since 2026-12-01 --until 2026-12-08 [--format csv] [--output FILE]

Entries come from identity itself (`service` "identity") and from every other service's
AuditRecorded events (ADR 0043), appended by the consumer exactly once.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import select, update

from pos_identity.tables import audit_head, audit_log
from pos_platform.db import Database, UnitOfWork, correlation_id_var, utcnow

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "service",
    "action",
    "outcome",
    "actor_id",
    "actor_email",
    "actor_role",
    "target_type",
    "target_id",
    "outlet_id",
    "source_ip",
    "request_id",
    "details",
)


def _canonical(fields: dict[str, Any]) -> str:
    values = {name: fields.get(name) for name in HASHED_FIELDS}
    at = values["at"]
    if isinstance(at, datetime):
        values["at"] = at.replace(tzinfo=None).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{_canonical(fields)}".encode()).hexdigest()


def record(
    uow: UnitOfWork,
    action: str,
    *,
    outcome: str = "success",
    service: str = "identity",
    actor_id: str | None = None,
    actor_email: str | None = None,
    actor_role: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outlet_id: str | None = None,
    source_ip: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry in the caller's transaction; returns its seq. Never pass a
    password, PIN or token in `details`."""
    head = uow.session.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()).one()
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": at or utcnow(),
        "service": service,
        "action": action,
        "outcome": outcome,
        "actor_id": actor_id,
        "actor_email": actor_email,
        "actor_role": actor_role,
        "target_type": target_type,
        "target_id": target_id,
        "outlet_id": outlet_id,
        "source_ip": source_ip,
        "request_id": request_id if request_id is not None else correlation_id_var.get(),
        # What the database gives back: JSON types only.
        "details": json.loads(json.dumps(details or {}, default=str)),
    }
    for name, value in fields.items():  # what the column holds is what gets hashed
        length = getattr(audit_log.c[name].type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            fields[name] = value[:length]
    digest = entry_hash(head.hash, fields)
    uow.session.execute(audit_log.insert().values(**fields, prev_hash=head.hash, hash=digest))
    uow.session.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=fields["seq"], hash=digest))
    return int(fields["seq"])


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""
    # The entry at the break as the database holds it now (service, action, target, at):
    # which record an operator should look at.
    record: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.entries} entries, head {self.head_seq} {self.head_hash}"
        named = f" [{self.record}]" if self.record else ""
        return f"audit chain BROKEN at seq {self.broken_seq}{named}: {self.reason} ({self.entries} entries checked before it)"


def describe(fields: dict[str, Any]) -> str:
    """One entry in a few words: `seq 17 sales sale.refunded sale 4f0c... at 2026-...`."""
    at = fields.get("at")
    when = at.isoformat(timespec="seconds") if isinstance(at, datetime) else str(at)
    target = f" {fields.get('target_type')} {fields.get('target_id')}" if fields.get("target_id") else ""
    return f"seq {fields.get('seq')} {fields.get('service')} {fields.get('action')}{target} at {when}"


def check_chain(rows: Iterable[Any], head_seq: int, head_hash: str) -> Verdict:
    """Walk the rows in seq order; the first link that does not hold is reported."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for row in rows:
        fields = dict(row._mapping)
        if fields["seq"] != expected_seq:
            reason, record = f"entry {expected_seq} is missing (next is {fields['seq']})", f"next: {describe(fields)}"
        elif fields["prev_hash"] != prev_hash:
            reason, record = "prev_hash does not match the entry before it", describe(fields)
        elif entry_hash(prev_hash, fields) != fields["hash"]:
            reason, record = "contents changed since it was written", describe(fields)
        else:
            prev_hash, expected_seq, checked = fields["hash"], expected_seq + 1, checked + 1
            continue
        return Verdict(False, checked, head_seq, head_hash, expected_seq, reason, record)
    if head_seq != checked or head_hash != prev_hash:
        return Verdict(
            False, checked, head_seq, head_hash, checked + 1, f"the chain ends at {checked} but its head says {head_seq}"
        )
    return Verdict(True, checked, head_seq, head_hash)


def verify(db: Database) -> Verdict:
    with db.engine.connect() as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
        rows = conn.execution_options(yield_per=1000).execute(select(audit_log).order_by(audit_log.c.seq))
        return check_chain(rows, head.seq, head.hash)


# --- export --------------------------------------------------------------------------

ExportFormat = Literal["jsonl", "csv"]
EXPORT_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")


def moment(value: date | datetime) -> datetime:
    """A bound of a date range as the column holds it (naive UTC): a date is its midnight."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return (value.astimezone(UTC) if value.tzinfo else value).replace(tzinfo=None)


def export_rows(conn: Any, since: datetime | None, until: datetime | None) -> Iterator[dict[str, Any]]:
    """The entries with since <= at < until, in chain order, every column (so the links
    between consecutive exported entries can be checked again from the file)."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    for row in conn.execution_options(yield_per=1000).execute(query):
        fields = dict(row._mapping)
        fields["at"] = fields["at"].isoformat(timespec="microseconds") + "Z"
        yield {name: fields[name] for name in EXPORT_COLUMNS}


def export_lines(rows: Iterable[dict[str, Any]], fmt: ExportFormat) -> Iterator[str]:
    """JSON lines (one entry per line, `details` an object) or CSV with a header
    (`details` as JSON text)."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        values = [json.dumps(row[c], ensure_ascii=False, sort_keys=True) if c == "details" else row[c] for c in EXPORT_COLUMNS]
        writer.writerow(["" if v is None else v for v in values])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _day_or_moment(text: str) -> datetime:
    try:
        return moment(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2026-12-01) or a moment (2026-12-01T08:00:00Z)") from None


def main(argv: list[str] | None = None) -> int:
    from pos_identity.config import Settings
    from pos_identity.tables import metadata

    parser = argparse.ArgumentParser(prog="python -m pos_identity.audit", description="Check or show identity's audit chain")
    parser.add_argument("command", choices=["verify", "head", "export"])
    parser.add_argument("--database-url", help="default: POS_DATABASE_URL (identity's database)")
    parser.add_argument("--since", type=_day_or_moment, help="export: entries at or after this date or moment (UTC)")
    parser.add_argument("--until", type=_day_or_moment, help="export: entries before this date or moment (UTC)")
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="export: JSON lines (default) or CSV")
    parser.add_argument("--output", help="export: write to this file (default: standard output)")
    args = parser.parse_args(argv)
    url = args.database_url or Settings().database_url_for("identity")
    db = Database(url, metadata, "identity", pool_size=1)
    try:
        if args.command == "export":
            with db.engine.connect() as conn, contextlib.ExitStack() as stack:
                out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline="")) if args.output else sys.stdout
                for chunk in export_lines(export_rows(conn, args.since, args.until), args.format):
                    out.write(chunk)
            return 0
        verdict = verify(db)
    finally:
        db.dispose()
    if args.command == "head":
        print(f"{verdict.head_seq} {verdict.head_hash}")
        return 0
    print(verdict)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
