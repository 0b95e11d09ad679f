"""Product search by name, SKU or barcode: exact matches first, then word prefixes.

Every query is an index range scan in result order (ix_search_terms_term), so it stops
after one page however large the catalogue; nothing ever reads the whole table (ADR 0010).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from pos_catalog.domain import prefix_bounds, query_words
from pos_catalog.tables import barcodes, products, search_terms

# A broad query ("a") matches most of a big catalogue: counting stops here.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class Filters:
    active_only: bool = True
    category_ids: frozenset[str] | None = None


@dataclass(frozen=True)
class Hit:
    product_id: str
    match: str  # barcode | sku | prefix


def _filtered(stmt: Select, id_column, filters: Filters) -> Select:  # type: ignore[type-arg]
    if not filters.active_only and filters.category_ids is None:
        return stmt
    stmt = stmt.join(products, products.c.id == id_column)
    if filters.active_only:
        stmt = stmt.where(products.c.active.is_(True))
    if filters.category_ids is not None:
        stmt = stmt.where(products.c.category_id.in_(sorted(filters.category_ids)))
    return stmt


def exact_hits(session: Session, query: str, filters: Filters) -> list[Hit]:
    """The product whose barcode is `query`, then the one whose SKU is."""
    hits: list[Hit] = []
    if not query or len(query) > 64:
        return hits
    by_code = _filtered(select(barcodes.c.product_id), barcodes.c.product_id, filters).where(barcodes.c.code == query)
    hits.extend(Hit(pid, "barcode") for pid in session.scalars(by_code))
    by_sku = select(products.c.id).where(products.c.sku == query)
    if filters.active_only:
        by_sku = by_sku.where(products.c.active.is_(True))
    if filters.category_ids is not None:
        by_sku = by_sku.where(products.c.category_id.in_(sorted(filters.category_ids)))
    hits.extend(Hit(pid, "sku") for pid in session.scalars(by_sku) if all(h.product_id != pid for h in hits))
    return hits


def _prefix_query(words: list[str], filters: Filters, among: set[str] | None = None) -> Select:  # type: ignore[type-arg]
    """Products having a word starting with each of `words`, in (term, name) order of
    the first (longest) word, which drives the index range scan."""
    driving = search_terms.alias("t")
    low, high = prefix_bounds(words[0])
    stmt = select(driving.c.product_id).where(driving.c.term >= low, driving.c.term < high)
    if among is not None:
        stmt = stmt.where(driving.c.product_id.in_(sorted(among)))
    stmt = _filtered(stmt, driving.c.product_id, filters)
    for word in words[1:]:
        other = search_terms.alias()
        low, high = prefix_bounds(word)
        stmt = stmt.where(exists().where(other.c.product_id == driving.c.product_id, other.c.term >= low, other.c.term < high))
    return stmt.order_by(driving.c.term, driving.c.sort_key, driving.c.product_id)


def find(session: Session, query: str, *, limit: int, offset: int = 0, filters: Filters | None = None) -> tuple[list[Hit], bool]:
    """One page of hits and whether there are more."""
    filters = filters or Filters()
    query = query.strip()
    wanted = offset + limit + 1  # one more tells whether a next page exists
    hits = exact_hits(session, query, filters)
    seen = {h.product_id for h in hits}
    words = query_words(query)
    if words and len(hits) < wanted:
        stmt = _prefix_query(words, filters)
        raw_offset, chunk = 0, wanted + 16
        while len(hits) < wanted:
            rows = list(session.scalars(stmt.limit(chunk).offset(raw_offset)))
            for pid in rows:
                # A product with two words matching the prefix comes twice.
                if pid not in seen:
                    seen.add(pid)
                    hits.append(Hit(pid, "prefix"))
            if len(rows) < chunk:
                break
            raw_offset += chunk
    page = hits[offset : offset + limit]
    return page, len(hits) > offset + limit


def count(session: Session, query: str, filters: Filters | None = None) -> tuple[int, bool]:
    """How many products match (exact, or COUNT_CAP and False when there are more)."""
    filters = filters or Filters()
    query = query.strip()
    words = query_words(query)
    ids = {h.product_id for h in exact_hits(session, query, filters)}
    if not words:
        return len(ids), True
    matching = _prefix_query(words, filters).order_by(None).distinct().limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(matching)) or 0
    # Exact hits are almost always prefix hits too; add the ones that are not.
    if ids:
        prefix_ids = set(session.scalars(_prefix_query(words, filters, among=ids)))
        total += len(ids - prefix_ids)
    if total > COUNT_CAP:
        return COUNT_CAP, False
    return total, True
