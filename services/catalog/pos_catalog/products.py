"""Reading and writing products inside a unit of work (routes and imports share it)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.orm import Session

from pos_catalog.domain import index_terms, sort_key
from pos_catalog.images import image_url
from pos_catalog.schemas import ProductOut
from pos_catalog.tables import barcodes, categories, price_overrides, products, search_index

BARCODE_LIST_SEPARATOR = "|"

# Fields of ProductData (the event) that come straight from the product.
_EVENT_EXCLUDE = {"id", "description", "unit", "outlet_price_minor", "outlet_price_currency", "image_url", "thumbnail_url"}


def _card_query(outlet_id: str | None) -> Select[Any]:
    """Product rows with their category's name and (for an outlet) its own price: what
    a product card needs, in one statement."""
    columns: list[Any] = [products, categories.c.name.label("category_name")]
    stmt = select(*columns).outerjoin(categories, categories.c.id == products.c.category_id)
    if outlet_id:
        stmt = stmt.add_columns(
            price_overrides.c.price_minor.label("outlet_price"), price_overrides.c.currency.label("outlet_currency")
        ).outerjoin(price_overrides, (price_overrides.c.product_id == products.c.id) & (price_overrides.c.outlet_id == outlet_id))
    return stmt


def _card(r: Any) -> ProductOut:
    return ProductOut(
        id=r.id,
        sku=r.sku,
        name=r.name,
        description=r.description,
        barcodes=split_barcodes(r.barcode_list),
        category_id=r.category_id,
        category_name=r.category_name,
        price_minor=r.price_minor,
        cost_minor=r.cost_minor,
        currency=r.currency,
        tax_class=r.tax_class,
        unit=r.unit,
        active=r.active,
        outlet_price_minor=getattr(r, "outlet_price", None),
        outlet_price_currency=None
        if getattr(r, "outlet_price", None) is None
        else (getattr(r, "outlet_currency", None) or r.currency),
        image_url=image_url(r.id, r.image_key, 320),
        thumbnail_url=image_url(r.id, r.image_key, 96),
    )


def load(session: Session, ids: list[str], *, outlet_id: str | None = None) -> list[ProductOut]:
    """Products in the order of `ids` (missing ids are left out)."""
    if not ids:
        return []
    rows = {r.id: r for r in session.execute(_card_query(outlet_id).where(products.c.id.in_(ids)))}
    return [_card(rows[i]) for i in ids if i in rows]


def load_by_barcode(session: Session, code: str, *, outlet_id: str | None = None) -> ProductOut | None:
    """The product a barcode belongs to, in one statement (the till's scan)."""
    row = session.execute(
        _card_query(outlet_id).join(barcodes, barcodes.c.product_id == products.c.id).where(barcodes.c.code == code)
    ).first()
    return None if row is None else _card(row)


def category_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(session.execute(select(categories.c.id, categories.c.name).where(categories.c.id.in_(wanted))).all())


def outlet_price_row(session: Session, product_id: str, outlet_id: str) -> Any:
    """The outlet's own shelf price of the product (price_minor, currency), or None."""
    return session.execute(
        select(price_overrides.c.price_minor, price_overrides.c.currency).where(
            price_overrides.c.outlet_id == outlet_id, price_overrides.c.product_id == product_id
        )
    ).first()


def outlet_prices_for(session: Session, ids: list[str], outlet_id: str) -> dict[str, int]:
    return dict(
        session.execute(
            select(price_overrides.c.product_id, price_overrides.c.price_minor).where(
                price_overrides.c.outlet_id == outlet_id, price_overrides.c.product_id.in_(ids)
            )
        ).all()
    )


def event_fields(product: ProductOut) -> dict[str, Any]:
    """The ProductCreated/ProductChanged payload of a product."""
    return product.model_dump(exclude=_EVENT_EXCLUDE) | {"product_id": product.id}


def product_key(product_id: str) -> bytes:
    """The 16 bytes the search index keys a product by (its id is a UUID)."""
    return uuid.UUID(product_id).bytes


def product_id_of(key: bytes) -> str:
    return str(uuid.UUID(bytes=bytes(key)))


def join_barcodes(codes: Iterable[str]) -> str:
    return BARCODE_LIST_SEPARATOR.join(sorted(codes))


def split_barcodes(text: str) -> list[str]:
    return text.split(BARCODE_LIST_SEPARATOR) if text else []


def term_rows(product_id: str, name: str, sku: str, codes: list[str], active: bool) -> list[dict[str, Any]]:
    key, order = product_key(product_id), sort_key(name)
    return [
        {"product_key": key, "term": term, "active": active, "sort_key": order} for term in sorted(index_terms(name, sku, codes))
    ]


def replace_terms(session: Session, product: ProductOut) -> None:
    """Re-index one product after its name, SKU, barcodes or active flag changed."""
    session.execute(delete(search_index).where(search_index.c.product_key == product_key(product.id)))
    session.execute(insert(search_index), term_rows(product.id, product.name, product.sku, product.barcodes, product.active))


def replace_barcodes(session: Session, product_id: str, codes: list[str]) -> None:
    session.execute(delete(barcodes).where(barcodes.c.product_id == product_id))
    if codes:
        session.execute(insert(barcodes), [{"code": c, "product_id": product_id} for c in codes])
    session.execute(update(products).where(products.c.id == product_id).values(barcode_list=join_barcodes(codes)))


def category_tree(session: Session) -> dict[str, tuple[str, str | None]]:
    """id -> (name, parent_id) of every category (a catalogue has hundreds, not more)."""
    return {
        r.id: (r.name, r.parent_id) for r in session.execute(select(categories.c.id, categories.c.name, categories.c.parent_id))
    }


def category_path(tree: dict[str, tuple[str, str | None]], category_id: str) -> list[str]:
    """Names from the root down to `category_id`."""
    path: list[str] = []
    seen: set[str] = set()
    current: str | None = category_id
    while current is not None and current in tree and current not in seen:
        seen.add(current)
        name, parent = tree[current]
        path.append(name)
        current = parent
    return list(reversed(path))


def descendants(tree: dict[str, tuple[str, str | None]], root: str) -> set[str]:
    """`root` and every category below it."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for cid, (_name, parent) in tree.items():
        children[parent].append(cid)
    found, stack = set(), [root]
    while stack:
        cid = stack.pop()
        if cid not in found:
            found.add(cid)
            stack.extend(children.get(cid, []))
    return found
