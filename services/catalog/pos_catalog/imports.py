"""CSV imports as jobs: every row is validated first (against the file and the
database); only a file without a single error is applied, in one transaction, so a
catalogue is never half-imported. Progress is written to the job row as it goes (any
replica answers GET /imports/{id}); the web app polls it."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from pos_catalog import audit
from pos_catalog import changes as feed
from pos_catalog import products as repo
from pos_catalog.csv_format import Errors, ProductRow, parse
from pos_catalog.schemas import ImportError_, ImportJobOut
from pos_catalog.tables import barcodes, categories, import_jobs, products, search_index
from pos_contracts import new_envelope
from pos_contracts.events import ProductArchived, ProductChanged, ProductCreated
from pos_platform.db import Database, UnitOfWork, correlation_id_var, utcnow

log = logging.getLogger("pos.catalog.imports")

BATCH = 2000
# A job whose row has not moved for this long died with its process (nothing of it was
# committed: the import is one transaction).
STALE_AFTER = timedelta(minutes=2)


@dataclass
class Progress:
    validated: int = 0
    imported: int = 0


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: list[Any] = field(default_factory=list)


def chunks(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ImportJobs:
    """Starts import jobs on threads of this process and reports on any job."""

    def __init__(self, db: Database, currency: str) -> None:
        self.db = db
        self.currency = currency
        self._running: dict[str, Progress] = {}
        self._lock = threading.Lock()

    # --- API ---------------------------------------------------------------------------

    def start(self, data: bytes, *, filename: str | None, dry_run: bool, actor: str) -> str:
        job_id = self._new_job(filename, dry_run, actor)
        correlation = correlation_id_var.get()
        thread = threading.Thread(
            target=self._run, args=(job_id, data, dry_run, correlation), name=f"import-{job_id[:8]}", daemon=True
        )
        thread.start()
        return job_id

    def get(self, job_id: str) -> ImportJobOut | None:
        with self.db.transaction() as uow:
            row = uow.session.execute(select(import_jobs).where(import_jobs.c.id == job_id)).first()
        if row is None:
            return None
        with self._lock:
            live = self._running.get(job_id)
        values = dict(row._mapping)
        if live is not None:
            values["validated_rows"] = max(values["validated_rows"], live.validated)
            values["imported_rows"] = max(values["imported_rows"], live.imported)
        elif values["status"] in ("validating", "importing") and values["updated_at"] < utcnow() - STALE_AFTER:
            values["status"] = "failed"
            values["message"] = "the import was interrupted (the service stopped); nothing was imported: upload the file again"
        return job_out(values)

    def run_now(self, data: bytes, *, dry_run: bool = False, actor: str = "system", publish: bool = True) -> ImportJobOut:
        """Import in the calling thread (scripts and tests). `publish=False` writes no
        events: only for seeding a benchmark database nobody else consumes from."""
        job_id = self._new_job(None, dry_run, actor)
        self._run(job_id, data, dry_run, None, publish=publish)
        job = self.get(job_id)
        assert job is not None
        return job

    def _new_job(self, filename: str | None, dry_run: bool, actor: str) -> str:
        """A job row, validating and at zero, and its live progress: the job's id."""
        job_id = str(uuid.uuid4())
        now = utcnow()
        with self.db.transaction() as uow:
            uow.session.execute(
                insert(import_jobs).values(
                    id=job_id,
                    status="validating",
                    dry_run=dry_run,
                    filename=(filename or "")[:200] or None,
                    total_rows=0,
                    validated_rows=0,
                    imported_rows=0,
                    created_count=0,
                    updated_count=0,
                    unchanged_count=0,
                    error_count=0,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
        with self._lock:
            self._running[job_id] = Progress()
        return job_id

    # --- the job -------------------------------------------------------------------------

    def _run(self, job_id: str, data: bytes, dry_run: bool, correlation: str | None, *, publish: bool = True) -> None:
        token = correlation_id_var.set(correlation)
        try:
            rows, errors, total = parse(data)
            self._save(job_id, total_rows=total)
            if not errors:
                self._check_against_database(job_id, rows, errors)
            if errors:
                self._finish(
                    job_id,
                    "failed",
                    error_count=errors.count,
                    errors=_errors_json(errors),
                    message=f"{errors.count} error(s): nothing was imported; fix them and upload the file again",
                )
                return
            if dry_run:
                self._finish(job_id, "done", message=f"{total} row(s) checked, no errors (dry run: nothing imported)")
                return
            self._save(job_id, status="importing")
            outcome = self._apply(job_id, rows, publish=publish)
            self._finish(
                job_id,
                "done",
                imported_rows=len(rows),
                created_count=outcome.created,
                updated_count=outcome.updated,
                unchanged_count=outcome.unchanged,
                message=f"{outcome.created} created, {outcome.updated} updated, {outcome.unchanged} unchanged",
            )
        except Exception as exc:
            log.exception("import failed", extra={"job_id": job_id})
            self._finish(
                job_id, "failed", message=f"the import failed and nothing was imported: {type(exc).__name__}: {str(exc)[:300]}"
            )
        finally:
            correlation_id_var.reset(token)
            with self._lock:
                self._running.pop(job_id, None)

    def _progress(self, job_id: str) -> Progress:
        with self._lock:
            return self._running.setdefault(job_id, Progress())

    def _save(self, job_id: str, **values: Any) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(**values, updated_at=utcnow()))

    def _finish(self, job_id: str, status: str, **values: Any) -> None:
        progress = self._progress(job_id)
        values.setdefault("validated_rows", progress.validated)
        self._save(job_id, status=status, finished_at=utcnow(), **values)

    def _report(self, job_id: str, *, validated: int | None = None, imported: int | None = None) -> None:
        progress = self._progress(job_id)
        if validated is not None:
            progress.validated = validated
        if imported is not None:
            progress.imported = imported
        # On SQLite the import's own transaction holds the only write lock: progress then
        # lives in memory only (embedded mode is one process, which answers the polls).
        if imported is None or self.db.dialect != "sqlite":
            self._save(job_id, validated_rows=progress.validated, imported_rows=progress.imported)

    def _check_against_database(self, job_id: str, rows: list[ProductRow], errors: Errors) -> None:
        """Barcodes owned by a product the file does not give them up from."""
        by_sku = {r.sku.casefold(): r for r in rows}
        done = 0
        for batch in chunks(rows):
            with self.db.transaction() as uow:
                codes = [c for r in batch for c in (r.barcodes or [])]
                owners = (
                    dict(
                        uow.session.execute(
                            select(barcodes.c.code, products.c.sku)
                            .join(products, products.c.id == barcodes.c.product_id)
                            .where(barcodes.c.code.in_(codes))
                        ).all()
                    )
                    if codes
                    else {}
                )
            for row in batch:
                for code in row.barcodes or []:
                    owner_sku = owners.get(code)
                    if owner_sku is None or owner_sku.casefold() == row.sku.casefold():
                        continue
                    owner_row = by_sku.get(owner_sku.casefold())
                    if owner_row is not None and owner_row.barcodes is not None and code not in owner_row.barcodes:
                        continue  # moved: the file takes it off its current product
                    errors.add(row.row, "barcodes", f"barcode {code} already belongs to product {owner_sku}")
            done += len(batch)
            self._report(job_id, validated=done)

    def _apply(self, job_id: str, rows: list[ProductRow], *, publish: bool) -> Outcome:
        outcome = Outcome()
        now = utcnow()
        with self.db.transaction() as uow:
            session = uow.session
            new_categories: list[str] = []
            touched: list[str] = []  # products created or changed
            category_ids = _ensure_categories(session, {tuple(r.category) for r in rows if r.category}, new_categories)
            existing: dict[str, Any] = {}
            for batch in chunks(rows):
                for r in session.execute(select(products).where(products.c.sku.in_([row.sku for row in batch]))):
                    existing[r.sku.casefold()] = r
            new_rows = [r for r in rows if r.sku.casefold() not in existing]
            old_rows = [r for r in rows if r.sku.casefold() in existing]
            price_changes = [
                {"product_id": old.id, "sku": old.sku, "before": old.price_minor, "after": r.price_minor}
                for r in old_rows
                if (old := existing[r.sku.casefold()]).price_minor != r.price_minor
            ]
            done = 0
            # Changes first, and their barcodes only once every changed product gave its
            # old ones up: a file may move a barcode from one product to another.
            moved_codes: list[dict[str, str]] = []
            for batch in chunks(old_rows):
                changed, unchanged = self._change(
                    session, batch, existing, category_ids, now, outcome.events if publish else None, moved_codes, touched
                )
                outcome.updated += changed
                outcome.unchanged += unchanged
                done += len(batch)
                self._report(job_id, imported=done)
            for part in chunks(moved_codes):
                session.execute(insert(barcodes), part)
            for batch in chunks(new_rows):
                outcome.created += self._create(session, batch, category_ids, now, outcome.events if publish else None, touched)
                done += len(batch)
                self._report(job_id, imported=done)
            if outcome.events:
                _publish_many(uow, self.db, outcome.events)
            if publish and price_changes:
                actor = session.scalar(select(import_jobs.c.created_by).where(import_jobs.c.id == job_id))
                audit.import_prices_changed(uow, job_id, actor, price_changes)
            # Last: the change counter stays locked from here to the commit.
            feed.record(session, products=touched, categories=new_categories)
        return outcome

    def _create(
        self,
        session: Session,
        batch: list[ProductRow],
        category_ids: dict[tuple[str, ...], str],
        now: Any,
        events: list[Any] | None,
        touched: list[str],
    ) -> int:
        values, codes, terms = [], [], []
        for row in batch:
            product_id = str(uuid.uuid4())
            values.append(
                {
                    "id": product_id,
                    "sku": row.sku,
                    "name": row.name,
                    "description": row.description or "",
                    "category_id": category_ids.get(tuple(row.category)) if row.category else None,
                    "price_minor": row.price_minor,
                    "cost_minor": row.cost_minor or 0,
                    "currency": self.currency,
                    "tax_class": row.tax_class or "standard",
                    "unit": row.unit or "each",
                    "active": True if row.active is None else row.active,
                    "barcode_list": repo.join_barcodes(row.barcodes or []),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            codes.extend({"code": c, "product_id": product_id} for c in row.barcodes or [])
            terms.extend(repo.term_rows(product_id, row.name, row.sku, row.barcodes or [], values[-1]["active"]))
        session.execute(insert(products), values)
        touched.extend(v["id"] for v in values)
        if codes:
            session.execute(insert(barcodes), codes)
        for part in chunks(terms, BATCH * 4):
            session.execute(insert(search_index), part)
        if events is not None:
            names = _category_names(category_ids)
            for v, row in zip(values, batch, strict=True):
                events.append(ProductCreated(**_payload(v, row.barcodes or [], names)))
        return len(values)

    def _change(
        self,
        session: Session,
        batch: list[ProductRow],
        existing: dict[str, Any],
        category_ids: dict[tuple[str, ...], str],
        now: Any,
        events: list[Any] | None,
        new_codes: list[dict[str, str]],
        touched: list[str],
    ) -> tuple[int, int]:
        """Update the rows' products; their new barcodes are added to `new_codes` (the
        caller inserts them once every batch removed the old ones)."""
        current_codes = {
            existing[r.sku.casefold()].id: repo.split_barcodes(existing[r.sku.casefold()].barcode_list) for r in batch
        }
        names = _category_names(category_ids) | repo.category_names(
            session, {existing[r.sku.casefold()].category_id for r in batch if existing[r.sku.casefold()].category_id}
        )
        changed_values, recoded, archived, changed_events = [], [], [], []
        unchanged = 0
        for row in batch:
            old = existing[row.sku.casefold()]
            new = {
                "name": row.name,
                "description": old.description if row.description is None else row.description,
                "category_id": old.category_id
                if row.category is None
                else (category_ids.get(tuple(row.category)) if row.category else None),
                "price_minor": row.price_minor,
                "cost_minor": old.cost_minor if row.cost_minor is None else row.cost_minor,
                "tax_class": old.tax_class if row.tax_class is None else row.tax_class,
                "unit": old.unit if row.unit is None else row.unit,
                "active": old.active if row.active is None else row.active,
            }
            codes = current_codes[old.id] if row.barcodes is None else sorted(row.barcodes)
            fields_changed = any(getattr(old, k) != v for k, v in new.items())
            codes_changed = codes != current_codes[old.id]
            if not fields_changed and not codes_changed:
                unchanged += 1
                continue
            changed_values.append({"b_id": old.id, **new, "barcode_list": repo.join_barcodes(codes), "updated_at": now})
            if codes_changed or row.name != old.name or new["active"] != old.active:
                recoded.append((old.id, row.name, old.sku, codes, codes_changed, new["active"]))
            if events is not None:
                if old.active and not new["active"]:
                    archived.append(ProductArchived(product_id=old.id))
                changed_events.append(
                    ProductChanged(**_payload({"id": old.id, "sku": old.sku, "currency": old.currency, **new}, codes, names))
                )
        if changed_values:
            session.execute(update(products).where(products.c.id == bindparam("b_id")), changed_values)
            touched.extend(v["b_id"] for v in changed_values)
        code_ids = [pid for pid, _n, _s, _c, codes_changed, _a in recoded if codes_changed]
        if code_ids:
            session.execute(delete(barcodes).where(barcodes.c.product_id.in_(code_ids)))
            new_codes.extend({"code": c, "product_id": pid} for pid, _n, _s, codes, ch, _a in recoded if ch for c in codes)
        if recoded:
            session.execute(delete(search_index).where(search_index.c.product_key.in_([repo.product_key(r[0]) for r in recoded])))
            terms = [t for pid, name, sku, codes, _ch, active in recoded for t in repo.term_rows(pid, name, sku, codes, active)]
            for part in chunks(terms, BATCH * 4):
                session.execute(insert(search_index), part)
        if events is not None:
            events.extend(changed_events)
            events.extend(archived)
        return len(changed_values), unchanged


def _payload(values: dict[str, Any], codes: list[str], names: dict[str, str]) -> dict[str, Any]:
    category_id = values.get("category_id")
    return {
        "product_id": values["id"],
        "sku": values["sku"],
        "name": values["name"],
        "barcodes": sorted(codes),
        "category_id": category_id,
        "category_name": names.get(category_id) if category_id else None,
        "price_minor": values["price_minor"],
        "cost_minor": values["cost_minor"],
        "currency": values["currency"],
        "tax_class": values["tax_class"],
        "active": values["active"],
    }


def _category_names(category_ids: dict[tuple[str, ...], str]) -> dict[str, str]:
    return {cid: path[-1] for path, cid in category_ids.items()}


def _ensure_categories(session: Session, paths: Iterable[tuple[str, ...]], created: list[str]) -> dict[tuple[str, ...], str]:
    """Category id of every path (created where missing), matched by name under the
    same parent, case-insensitively."""
    tree = repo.category_tree(session)
    by_parent_and_name = {(parent, name.casefold()): cid for cid, (name, parent) in tree.items()}
    found: dict[tuple[str, ...], str] = {}
    now = utcnow()
    for path in sorted(set(paths), key=len):
        parent: str | None = None
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix in found:
                parent = found[prefix]
                continue
            cid = by_parent_and_name.get((parent, prefix[-1].casefold()))
            if cid is None:
                cid = str(uuid.uuid4())
                session.execute(insert(categories).values(id=cid, name=prefix[-1], parent_id=parent, created_at=now))
                created.append(cid)
                by_parent_and_name[(parent, prefix[-1].casefold())] = cid
            found[prefix] = cid
            parent = cid
    return found


def _publish_many(uow: UnitOfWork, db: Database, events: list[Any]) -> None:
    """Many events into the outbox in multi-row INSERTs (the unit of work's publish()
    writes one row per statement: too slow for 300,000)."""
    correlation = correlation_id_var.get()
    rows = []
    for event in events:
        envelope = new_envelope(event, producer=db.producer, correlation_id=correlation)
        rows.append(
            {
                "event_id": envelope.event_id,
                "routing_key": envelope.routing_key,
                "body": envelope.model_dump_json(),
                "created_at": utcnow(),
            }
        )
    for part in chunks(rows):
        uow.session.execute(insert(db.outbox), part)
    uow.published += len(rows)  # wakes the relay after the commit


def _errors_json(errors: Errors) -> str:
    return json.dumps(
        [{"row": e.row, "column": e.column, "message": e.message} for e in sorted(errors.kept, key=lambda e: (e.row, e.column))]
    )


def job_out(values: dict[str, Any]) -> ImportJobOut:
    total = values["total_rows"] or 0
    if values["status"] == "done":
        progress = 1.0
    elif total == 0:
        progress = 0.0
    else:
        phases = 1 if values["dry_run"] else 2
        progress = min(1.0, (values["validated_rows"] + values["imported_rows"]) / (phases * total))
    errors = json.loads(values["errors"]) if values.get("errors") else []
    finished = values.get("finished_at")
    return ImportJobOut(
        id=values["id"],
        status=values["status"],
        dry_run=values["dry_run"],
        filename=values.get("filename"),
        total_rows=total,
        validated_rows=values["validated_rows"],
        imported_rows=values["imported_rows"],
        progress=round(progress, 4),
        created=values["created_count"],
        updated=values["updated_count"],
        unchanged=values["unchanged_count"],
        error_count=values["error_count"],
        errors=[ImportError_(**e) for e in errors],
        message=values.get("message"),
        created_at=values["created_at"].isoformat() + "Z",
        finished_at=finished.isoformat() + "Z" if finished else None,
    )
