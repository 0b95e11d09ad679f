from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from pos_catalog.config import Settings
from pos_catalog.schemas import CategoryIn, CategoryOut, ProductIn, ProductOut, ProductPage, ProductUpdate
from pos_catalog.tables import barcodes, categories, products
from pos_contracts.events import ProductArchived, ProductChanged, ProductCreated
from pos_platform.app import ServiceContext
from pos_platform.auth import CurrentUser, Manager
from pos_platform.db import UnitOfWork, utcnow

router = APIRouter(prefix="/api/catalog", tags=["catalog"])
# The original design's paths; same handlers.
legacy = APIRouter(prefix="/api/items", tags=["items (legacy paths)"])


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


def _load(uow: UnitOfWork, ids: list[str]) -> list[ProductOut]:
    if not ids:
        return []
    rows = {r.id: r for r in uow.session.execute(select(products).where(products.c.id.in_(ids)))}
    codes: dict[str, list[str]] = defaultdict(list)
    for code, product_id in uow.session.execute(
        select(barcodes.c.code, barcodes.c.product_id).where(barcodes.c.product_id.in_(ids)).order_by(barcodes.c.code)
    ):
        codes[product_id].append(code)
    return [
        ProductOut(
            id=r.id,
            sku=r.sku,
            name=r.name,
            description=r.description,
            barcodes=codes[r.id],
            category_id=r.category_id,
            price_minor=r.price_minor,
            cost_minor=r.cost_minor,
            currency=r.currency,
            tax_class=r.tax_class,
            active=r.active,
        )
        for i in ids
        if (r := rows.get(i)) is not None
    ]


def _get(uow: UnitOfWork, product_id: str) -> ProductOut:
    found = _load(uow, [product_id])
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    return found[0]


def _event_fields(p: ProductOut) -> dict[str, Any]:
    return p.model_dump(exclude={"id", "description"}) | {"product_id": p.id}


def _check_category(uow: UnitOfWork, category_id: str | None) -> None:
    if category_id and uow.session.scalar(select(categories.c.id).where(categories.c.id == category_id)) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"category {category_id} does not exist")


def _conflict(exc: IntegrityError, body: Any) -> HTTPException:
    text = str(exc.orig).lower()
    if "barcode" in text or ("code" in text and "primary" in text):
        return HTTPException(status.HTTP_409_CONFLICT, "one of these barcodes already belongs to another product")
    return HTTPException(status.HTTP_409_CONFLICT, f"a product with SKU {getattr(body, 'sku', '')!r} already exists")


@router.get("/products", response_model=ProductPage)
@legacy.get("", response_model=ProductPage, include_in_schema=False)
def list_products(
    _user: CurrentUser,
    request: Request,
    q: str | None = Query(default=None, max_length=200, description="name, SKU or barcode"),
    category_id: str | None = None,
    include_archived: bool = False,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> ProductPage:
    query = select(products.c.id)
    if not include_archived:
        query = query.where(products.c.active.is_(True))
    if category_id:
        query = query.where(products.c.category_id == category_id)
    if q:
        by_barcode = select(barcodes.c.product_id).where(barcodes.c.code == q)
        query = query.where(
            or_(products.c.sku.startswith(q, autoescape=True), products.c.name.contains(q, autoescape=True), products.c.id.in_(by_barcode))
        )
    with _ctx(request).db.transaction() as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ids = list(uow.session.scalars(query.order_by(products.c.name, products.c.id).limit(limit).offset(offset)))
        items = _load(uow, ids)
    return ProductPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/barcodes/{code}", response_model=ProductOut)
def product_by_barcode(code: str, _user: CurrentUser, request: Request) -> ProductOut:
    with _ctx(request).db.transaction() as uow:
        product_id = uow.session.scalar(select(barcodes.c.product_id).where(barcodes.c.code == code))
        if product_id is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no product has barcode {code}")
        return _get(uow, product_id)


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
@legacy.post("", response_model=ProductOut, status_code=status.HTTP_201_CREATED, include_in_schema=False)
def create_product(body: ProductIn, _manager: Manager, request: Request) -> ProductOut:
    ctx = _ctx(request)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    product_id = str(uuid.uuid4())
    now = utcnow()
    try:
        with ctx.db.transaction() as uow:
            _check_category(uow, body.category_id)
            uow.session.execute(
                products.insert().values(
                    id=product_id,
                    **body.model_dump(exclude={"barcodes"}),
                    currency=settings.currency,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            if body.barcodes:
                uow.session.execute(barcodes.insert(), [{"code": c, "product_id": product_id} for c in body.barcodes])
            product = _get(uow, product_id)
            uow.publish(ProductCreated(**_event_fields(product)))
    except IntegrityError as exc:
        raise _conflict(exc, body) from None
    return product


@router.get("/products/{product_id}", response_model=ProductOut)
@legacy.get("/{product_id}", response_model=ProductOut, include_in_schema=False)
def get_product(product_id: str, _user: CurrentUser, request: Request) -> ProductOut:
    with _ctx(request).db.transaction() as uow:
        return _get(uow, product_id)


@router.put("/products/{product_id}", response_model=ProductOut)
@legacy.put("/{product_id}", response_model=ProductOut, include_in_schema=False)
def update_product(product_id: str, body: ProductUpdate, _manager: Manager, request: Request) -> ProductOut:
    changes = body.model_dump(exclude_unset=True, exclude={"barcodes"})
    try:
        with _ctx(request).db.transaction() as uow:
            current = _get(uow, product_id)
            if "category_id" in changes:
                _check_category(uow, changes["category_id"])
            if changes:
                uow.session.execute(products.update().where(products.c.id == product_id).values(**changes, updated_at=utcnow()))
            if body.barcodes is not None:
                uow.session.execute(barcodes.delete().where(barcodes.c.product_id == product_id))
                if body.barcodes:
                    uow.session.execute(barcodes.insert(), [{"code": c, "product_id": product_id} for c in body.barcodes])
            product = _get(uow, product_id)
            if product != current:
                uow.publish(ProductChanged(**_event_fields(product)))
    except IntegrityError as exc:
        raise _conflict(exc, current) from None
    return product


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
@legacy.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
def archive_product(product_id: str, _manager: Manager, request: Request) -> Response:
    """Archive (products with sales history are never deleted)."""
    with _ctx(request).db.transaction() as uow:
        product = _get(uow, product_id)
        if product.active:
            uow.session.execute(products.update().where(products.c.id == product_id).values(active=False, updated_at=utcnow()))
            uow.publish(ProductArchived(product_id=product_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(_user: CurrentUser, request: Request) -> list[CategoryOut]:
    with _ctx(request).db.transaction() as uow:
        rows = uow.session.execute(select(categories).order_by(categories.c.name)).all()
    return [CategoryOut(id=r.id, name=r.name, parent_id=r.parent_id) for r in rows]


@router.post("/categories", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
def create_category(body: CategoryIn, _manager: Manager, request: Request) -> CategoryOut:
    category = CategoryOut(id=str(uuid.uuid4()), name=body.name, parent_id=body.parent_id)
    with _ctx(request).db.transaction() as uow:
        _check_category(uow, body.parent_id)
        uow.session.execute(categories.insert().values(**category.model_dump(), created_at=utcnow()))
    return category
