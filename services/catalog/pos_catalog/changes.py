"""The tills' replica feed: what changed since a cursor, in commit order (ADR 0015).

Writers call `record()` as the last step of their transaction with what they touched.
It takes as many sequence numbers as rows from `change_counter` (an increment that
locks the counter row until the transaction ends) and writes them on the touched rows'
`catalog_changes` entries. Because the lock is held until commit, a transaction with a
higher number can only commit after every lower one did: the committed numbers are
always a prefix 1..H, and H is the counter's committed value. A reader takes H first
and reads only numbers <= H, so it never passes a number that commits later.

A page is read from two keyset ranges of ix_catalog_changes_feed (the rows every outlet
sees, and the outlet's own prices), merged by number; the entries name products and
categories whose current state is then loaded by primary key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import mysql, sqlite

from pos_catalog.images import image_url
from pos_catalog.products import split_barcodes
from pos_catalog.tables import catalog_changes, categories, change_counter, price_overrides, products
from pos_platform.db import CoreSession, upsert

EVERY_OUTLET = ""
PRODUCT, CATEGORY = "p", "c"
_CURSOR_PREFIX = "c1."
_BATCH = 1000


# --- writing -----------------------------------------------------------------------------


def record(
    session: CoreSession,
    *,
    products: Iterable[str] = (),
    categories: Iterable[str] = (),
    outlet_prices: Iterable[tuple[str, str]] = (),
) -> None:
    """Number the changes of this transaction: products and categories (created,
    changed, archived, deleted) and (product_id, outlet_id) outlet prices (set or
    removed). Call it last, just before the transaction commits: the counter row stays
    locked from here to the commit, so every other catalogue write waits that long."""
    entries = [(EVERY_OUTLET, CATEGORY, c) for c in dict.fromkeys(categories)]
    entries += [(EVERY_OUTLET, PRODUCT, p) for p in dict.fromkeys(products)]
    entries += [(outlet, PRODUCT, p) for p, outlet in dict.fromkeys(outlet_prices)]
    if not entries:
        return
    # A plain UPDATE: it takes the row's exclusive lock at once (an upsert could take a
    # shared lock first, and two of those deadlock).
    bumped = session.execute(
        update(change_counter).where(change_counter.c.id == 1).values(seq=change_counter.c.seq + len(entries))
    )
    if not bumped.rowcount:  # a database made without the migrations' counter row
        upsert(session, change_counter, {"id": 1}, increments={"seq": len(entries)})
    top = session.scalar(select(change_counter.c.seq).where(change_counter.c.id == 1))
    first = int(top) - len(entries) + 1
    rows = [{"outlet_id": o, "kind": k, "entity_id": e, "change_seq": first + i} for i, (o, k, e) in enumerate(entries)]
    if session.get_bind().dialect.name == "mysql":
        stmt = mysql.insert(catalog_changes)
        stmt = stmt.on_duplicate_key_update(change_seq=stmt.inserted.change_seq)
    else:
        stmt = sqlite.insert(catalog_changes)
        stmt = stmt.on_conflict_do_update(
            index_elements=["outlet_id", "kind", "entity_id"], set_={"change_seq": stmt.excluded.change_seq}
        )
    for start in range(0, len(rows), _BATCH):
        session.execute(stmt, rows[start : start + _BATCH])


# --- the cursor --------------------------------------------------------------------------


class BadCursor(ValueError):
    """A cursor this catalogue cannot continue from (the message says why)."""


def _outlet_tag(outlet_id: str) -> str:
    return hashlib.sha256(outlet_id.encode()).hexdigest()[:8]


def encode_cursor(seq: int, outlet_id: str) -> str:
    """Opaque to the till: the last change number applied, bound to the outlet."""
    raw = f"{seq}.{_outlet_tag(outlet_id)}".encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, outlet_id: str) -> int:
    if not cursor.startswith(_CURSOR_PREFIX) or len(cursor) > 64:
        raise BadCursor(
            "malformed cursor: pass back a next_cursor exactly as it was given, or none to fill the replica from the start"
        )
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        seq_text, tag = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii").split(".")
        seq = int(seq_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(
            "malformed cursor: pass back a next_cursor exactly as it was given, or none to fill the replica from the start"
        ) from None
    if seq < 0 or not seq_text.isdigit():
        raise BadCursor(
            "malformed cursor: pass back a next_cursor exactly as it was given, or none to fill the replica from the start"
        )
    if tag != _outlet_tag(outlet_id):
        raise BadCursor("this cursor was given for another outlet: fill this outlet's replica without a cursor")
    return seq


# --- reading -----------------------------------------------------------------------------


@dataclass
class Page:
    products: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    deleted_categories: list[str] = field(default_factory=list)
    last_seq: int = 0
    more: bool = False


def horizon(session: CoreSession) -> int:
    """The last committed change number (every lower one is committed too)."""
    return int(session.scalar(select(change_counter.c.seq).where(change_counter.c.id == 1)) or 0)


def read_page(session: CoreSession, outlet_id: str, after: int, limit: int) -> Page:
    """Changes numbered after `after` for `outlet_id`, at most `limit` entries, each
    entity with its current state. Raises BadCursor for a number not handed out yet."""
    top = horizon(session)
    if after > top:
        raise BadCursor(
            "this cursor is ahead of the catalogue (was the database restored from a backup?): fill the replica again without a cursor"
        )
    entries: list[Any] = []
    for scope in (EVERY_OUTLET, outlet_id):
        entries += session.execute(
            select(catalog_changes.c.change_seq, catalog_changes.c.kind, catalog_changes.c.entity_id)
            .where(
                catalog_changes.c.outlet_id == scope, catalog_changes.c.change_seq > after, catalog_changes.c.change_seq <= top
            )
            .order_by(catalog_changes.c.change_seq)
            .limit(limit + 1)
        ).all()
    entries.sort(key=lambda e: e.change_seq)
    page = Page(more=len(entries) > limit)
    entries = entries[:limit]
    # Caught up: everything up to the horizon has been read, so the next read starts there.
    page.last_seq = entries[-1].change_seq if page.more else top
    # Each entity once, in the order of its last entry in the page.
    product_ids = list(reversed(dict.fromkeys(e.entity_id for e in reversed(entries) if e.kind == PRODUCT)))
    category_ids = list(reversed(dict.fromkeys(e.entity_id for e in reversed(entries) if e.kind == CATEGORY)))
    page.products = _products(session, product_ids, outlet_id)
    found = _categories(session, category_ids)
    page.categories = [found[c] for c in category_ids if c in found]
    page.deleted_categories = [c for c in category_ids if c not in found]
    return page


def _products(session: CoreSession, ids: list[str], outlet_id: str) -> list[dict[str, Any]]:
    rows: dict[str, Any] = {}
    query = (
        select(
            products.c.id,
            products.c.sku,
            products.c.name,
            products.c.barcode_list,
            products.c.category_id,
            products.c.price_minor,
            price_overrides.c.price_minor.label("outlet_price"),
            price_overrides.c.currency.label("outlet_currency"),
            products.c.currency,
            products.c.tax_class,
            products.c.unit,
            products.c.active,
            products.c.image_key,
        )
        .select_from(products)
        .outerjoin(price_overrides, (price_overrides.c.product_id == products.c.id) & (price_overrides.c.outlet_id == outlet_id))
    )
    for start in range(0, len(ids), _BATCH):
        for r in session.execute(query.where(products.c.id.in_(ids[start : start + _BATCH]))):
            rows[r.id] = r
    return [
        {
            "id": r.id,
            "sku": r.sku,
            "name": r.name,
            "barcodes": split_barcodes(r.barcode_list),
            "category_id": r.category_id,
            "price_minor": r.price_minor if r.outlet_price is None else r.outlet_price,
            "outlet_price": r.outlet_price is not None,
            # The outlet's own price is in the outlet's currency (ADR 0075).
            "currency": r.currency if r.outlet_price is None else (r.outlet_currency or r.currency),
            "tax_class": r.tax_class,
            "unit": r.unit,
            "active": bool(r.active),
            "thumbnail_url": image_url(r.id, r.image_key, 96),
        }
        for r in (rows[i] for i in ids if i in rows)
    ]


def _categories(session: CoreSession, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _BATCH):
        for r in session.execute(
            select(categories.c.id, categories.c.name, categories.c.parent_id).where(
                categories.c.id.in_(ids[start : start + _BATCH])
            )
        ):
            found[r.id] = {"id": r.id, "name": r.name, "parent_id": r.parent_id}
    return found
