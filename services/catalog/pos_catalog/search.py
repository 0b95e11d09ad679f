"""Product search by name, SKU or barcode: exact matches first, then word prefixes.

Every step is an index range scan (ix_search_index_term, in result order, so LIMIT
stops it early) or a primary-key lookup; nothing ever reads the whole catalogue
(ADR 0010). A query of several words is driven by its most selective word; the others
are checked against key sets read from the same index (or by primary key when they
match a large part of the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pos_catalog.domain import prefix_bounds, query_words
from pos_catalog.products import product_id_of, product_key
from pos_catalog.tables import barcodes, products, search_index

# Words matching more index rows than this are "broad": checked by primary key.
SET_CAP = 5000
# A broad query ("a") matches most of a big catalogue: counting stops here.
COUNT_CAP = 10_000
# Rows of the driving word read at most for one page (bounds a rare combination of
# broad words; the page then ends early and says there is nothing more).
SCAN_CAP = 20_000


@dataclass(frozen=True)
class Filters:
    active_only: bool = True
    category_ids: frozenset[str] | None = None


@dataclass(frozen=True)
class Hit:
    product_id: str
    match: str  # barcode | sku | prefix


def _word_range(word: str, filters: Filters) -> Select:  # type: ignore[type-arg]
    """Index rows of products with a word starting with `word`, in index order."""
    low, high = prefix_bounds(word)
    stmt = select(search_index.c.product_key).where(search_index.c.term >= low, search_index.c.term < high)
    if filters.active_only:
        # active is the index's first column: this range is read in (term, name) order.
        stmt = stmt.where(search_index.c.active == True)  # noqa: E712  (IS TRUE would not use the index)
    return stmt.order_by(search_index.c.term, search_index.c.sort_key, search_index.c.product_key)


def _key_set(session: Session, word: str, filters: Filters, cap: int) -> set[bytes] | None:
    """Keys of every product matching `word`, or None when more than `cap` rows do."""
    keys = list(session.scalars(_word_range(word, filters).order_by(None).limit(cap + 1)))
    return None if len(keys) > cap else {bytes(k) for k in keys}


def _matching(session: Session, keys: list[bytes], word: str, filters: Filters) -> set[bytes]:
    """Which of `keys` have a word starting with `word` (primary-key lookups)."""
    low, high = prefix_bounds(word)
    stmt = select(search_index.c.product_key).where(
        search_index.c.product_key.in_(keys), search_index.c.term >= low, search_index.c.term < high
    )
    return {bytes(k) for k in session.scalars(stmt)}


def _in_categories(session: Session, ids: list[str], category_ids: frozenset[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.scalars(select(products.c.id).where(products.c.id.in_(ids), products.c.category_id.in_(sorted(category_ids)))))


def exact_hits(session: Session, query: str, filters: Filters) -> list[Hit]:
    """The product whose barcode is `query`, then the one whose SKU is."""
    hits: list[Hit] = []
    if not query or len(query) > 64:
        return hits
    found = [(pid, "barcode") for pid in session.scalars(select(barcodes.c.product_id).where(barcodes.c.code == query))]
    found += [(pid, "sku") for pid in session.scalars(select(products.c.id).where(products.c.sku == query))]
    if not found:
        return hits
    rows = {
        r.id: r
        for r in session.execute(select(products.c.id, products.c.active, products.c.category_id).where(products.c.id.in_([p for p, _m in found])))
    }
    for pid, match in found:
        row = rows.get(pid)
        if row is None or any(h.product_id == pid for h in hits):
            continue
        if filters.active_only and not row.active:
            continue
        if filters.category_ids is not None and row.category_id not in filters.category_ids:
            continue
        hits.append(Hit(pid, match))
    return hits


class _Narrowing:
    """The words after the driving one, as key sets (selective words) or primary-key
    checks (broad ones), plus the category filter."""

    def __init__(self, session: Session, words: list[str], filters: Filters) -> None:
        self.session = session
        self.filters = filters
        self.sets: list[set[bytes]] = []
        self.broad: list[str] = []
        for word in words:
            keys = _key_set(session, word, filters, SET_CAP)
            if keys is None:
                self.broad.append(word)
            else:
                self.sets.append(keys)

    def keep(self, keys: list[bytes]) -> list[bytes]:
        kept = [k for k in keys if all(k in s for s in self.sets)]
        for word in self.broad:
            if not kept:
                break
            having = _matching(self.session, kept, word, self.filters)
            kept = [k for k in kept if k in having]
        if self.filters.category_ids is not None and kept:
            inside = _in_categories(self.session, [product_id_of(k) for k in kept], self.filters.category_ids)
            kept = [k for k in kept if product_id_of(k) in inside]
        return kept


def _order_words(session: Session, words: list[str], filters: Filters) -> list[str]:
    """The most selective word first (it drives the scan): fewest index rows, counted
    up to SET_CAP (index-only, cheap), longest first among equals."""
    if len(words) == 1:
        return words
    sizes = {}
    for word in words:
        sizes[word] = session.scalar(select(func.count()).select_from(_word_range(word, filters).order_by(None).limit(SET_CAP + 1).subquery()))
    return sorted(words, key=lambda w: (sizes[w], -len(w)))


def find(session: Session, query: str, *, limit: int, offset: int = 0, filters: Filters | None = None) -> tuple[list[Hit], bool]:
    """One page of hits and whether there are more."""
    filters = filters or Filters()
    query = query.strip()
    wanted = offset + limit + 1  # one more tells whether a next page exists
    hits = exact_hits(session, query, filters)
    seen = {product_key(h.product_id) for h in hits}
    words = query_words(query)
    if not words or len(hits) >= wanted:
        return hits[offset : offset + limit], len(hits) > offset + limit
    words = _order_words(session, words, filters)
    narrowing = _Narrowing(session, words[1:], filters)
    driving = _word_range(words[0], filters)
    chunk = wanted + 4 if len(words) == 1 and filters.category_ids is None else max(4 * wanted, 100)
    scanned = 0
    while len(hits) < wanted and scanned < SCAN_CAP:
        rows = [bytes(k) for k in session.scalars(driving.limit(chunk).offset(scanned))]
        scanned += len(rows)
        # A product with two words matching the prefix comes twice.
        fresh = [k for k in dict.fromkeys(rows) if k not in seen]
        seen.update(fresh)
        hits.extend(Hit(product_id_of(k), "prefix") for k in narrowing.keep(fresh))
        if len(rows) < chunk:
            break
        chunk = min(chunk * 2, 2000)
    return hits[offset : offset + limit], len(hits) > offset + limit


def count(session: Session, query: str, filters: Filters | None = None) -> tuple[int, bool]:
    """How many products match; (COUNT_CAP, False) when there are more than that."""
    filters = filters or Filters()
    query = query.strip()
    exact = {product_key(h.product_id) for h in exact_hits(session, query, filters)}
    words = query_words(query)
    if not words:
        return len(exact), True
    words = _order_words(session, words, filters)
    first = _key_set(session, words[0], filters, COUNT_CAP)
    if first is None:
        return COUNT_CAP, False
    keys = sorted(first)
    narrowing = _Narrowing(session, words[1:], filters)
    matched: set[bytes] = set()
    for start in range(0, len(keys), 1000):
        matched.update(narrowing.keep(keys[start : start + 1000]))
    total = len(matched | exact)
    return (COUNT_CAP, False) if total > COUNT_CAP else (total, True)

