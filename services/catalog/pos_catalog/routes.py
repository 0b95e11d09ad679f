from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from pos_catalog import audit, search
from pos_catalog import changes as feed
from pos_catalog import products as repo
from pos_catalog.config import Settings
from pos_catalog.csv_format import BARCODE_SEPARATOR, CATEGORY_SEPARATOR, export_lines
from pos_catalog.imports import ImportJobs
from pos_catalog.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryUpdate,
    ChangesPage,
    ImportJobOut,
    OutletPriceIn,
    OutletPriceOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductUpdate,
    ReplicaCategory,
    ReplicaProduct,
    SearchHit,
    SearchPage,
)
from pos_catalog.tables import categories, import_jobs, price_overrides, products
from pos_contracts.events import OutletPriceChanged, ProductArchived, ProductChanged, ProductCreated
from pos_platform.app import ServiceContext, service_context
from pos_platform.auth import CurrentUser, Manager, ensure_outlet
from pos_platform.db import UnitOfWork, utcnow
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet, replica_currency

# An outlet id as identity makes them (a UUID, 36 characters): a longer one was a
# "Data too long" 500 on MariaDB.
OutletIdPath = Annotated[str, Path(min_length=1, max_length=36)]

router = APIRouter(prefix="/api/catalog", tags=["catalog"])
# The original design's paths; same handlers.
legacy = APIRouter(prefix="/api/items", tags=["items (legacy paths)"])


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def _imports(request: Request) -> ImportJobs:
    return request.app.state.imports


def _get(uow: UnitOfWork, product_id: str, outlet_id: str | None = None) -> ProductOut:
    found = repo.load(uow.session, [product_id], outlet_id=outlet_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
    return found[0]


def _check_category(uow: UnitOfWork, category_id: str | None) -> None:
    if category_id is not None and uow.session.scalar(select(categories.c.id).where(categories.c.id == category_id)) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"category {category_id} does not exist")


def _conflict(exc: IntegrityError, sku: str) -> HTTPException:
    text = str(exc.orig).lower()
    if "barcode" in text or ("code" in text and "primary" in text):
        return HTTPException(status.HTTP_409_CONFLICT, "one of these barcodes already belongs to another product")
    return HTTPException(status.HTTP_409_CONFLICT, f"a product with SKU {sku!r} already exists")


PRODUCT_CONFLICT = errors({409: "the SKU or one of the barcodes belongs to another product"})


def _filters(uow: UnitOfWork, category_id: str | None, include_subcategories: bool, include_archived: bool) -> search.Filters:
    category_ids = None
    if category_id:
        category_ids = (
            frozenset(repo.descendants(repo.category_tree(uow.session), category_id))
            if include_subcategories
            else frozenset({category_id})
        )
    return search.Filters(active_only=not include_archived, category_ids=category_ids)


# --- products ----------------------------------------------------------------------------


@router.get("/products", response_model=ProductPage)
@legacy.get("", response_model=ProductPage, include_in_schema=False)
def list_products(
    principal: CurrentUser,
    request: Request,
    q: str | None = Query(default=None, max_length=200, description="name words, SKU or barcode: exact or prefix"),
    category_id: str | None = None,
    include_subcategories: bool = Query(default=True, description="with category_id: products of its subcategories too"),
    include_archived: bool = False,
    outlet_id: str | None = Query(default=None, description="also give this outlet's own prices"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=100_000),
) -> ProductPage:
    """A page of products, by name; with `q`, the search results in search order."""
    if outlet_id:
        ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        filters = _filters(uow, category_id, include_subcategories, include_archived)
        if q and q.strip():
            hits, _more = search.find(uow.session, q, limit=limit, offset=offset, filters=filters)
            total, exact = search.count(uow.session, q, filters)
            ids = [h.product_id for h in hits]
        else:
            query = select(products.c.id)
            if filters.active_only:
                query = query.where(products.c.active.is_(True))
            if filters.category_ids is not None:
                query = query.where(products.c.category_id.in_(sorted(filters.category_ids)))
            total, exact = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0, True
            ids = list(uow.session.scalars(query.order_by(products.c.name, products.c.id).limit(limit).offset(offset)))
        items = repo.load(uow.session, ids, outlet_id=outlet_id)
    return ProductPage(items=items, total=total, total_exact=exact, limit=limit, offset=offset)


@router.get("/search", response_model=SearchPage)
def search_products(
    principal: CurrentUser,
    request: Request,
    q: str = Query(min_length=1, max_length=200, description="name words, SKU or barcode: exact or prefix"),
    outlet_id: str | None = Query(default=None, description="the till's outlet: its own prices are given"),
    category_id: str | None = None,
    include_archived: bool = False,
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=10_000),
) -> SearchPage:
    """The till's search: exact barcode, then exact SKU, then products with words
    starting with every word of `q`. One page at a time; the catalogue never leaves
    the server."""
    if outlet_id:
        ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        filters = _filters(uow, category_id, True, include_archived)
        hits, more = search.find(uow.session, q, limit=limit, offset=offset, filters=filters)
        found = {p.id: p for p in repo.load(uow.session, [h.product_id for h in hits], outlet_id=outlet_id)}
    items = [
        SearchHit(**found[h.product_id].model_dump(exclude={"description", "cost_minor", "category_name"}), match=h.match)
        for h in hits
        if h.product_id in found
    ]
    return SearchPage(items=items, limit=limit, offset=offset, next_offset=offset + limit if more else None)


@router.get("/barcodes/{code}", response_model=ProductOut)
def product_by_barcode(code: str, principal: CurrentUser, request: Request, outlet_id: str | None = None) -> ProductOut:
    """The product a scanned barcode belongs to (archived ones too: the till decides)."""
    if outlet_id:
        ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        product = repo.load_by_barcode(uow.session, code, outlet_id=outlet_id)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no product has barcode {code}")
    return product


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED, responses=PRODUCT_CONFLICT)
@legacy.post("", response_model=ProductOut, status_code=status.HTTP_201_CREATED, include_in_schema=False)
def create_product(body: ProductIn, _manager: Manager, request: Request) -> ProductOut:
    ctx = _ctx(request)
    settings = ctx.settings
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
            repo.replace_barcodes(uow.session, product_id, body.barcodes)
            product = _get(uow, product_id)
            repo.replace_terms(uow.session, product)
            uow.publish(ProductCreated(**repo.event_fields(product)))
            feed.record(uow.session, products=[product_id])
    except IntegrityError as exc:
        raise _conflict(exc, body.sku) from None
    return product


@router.get("/products/export", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
def export_products(_manager: Manager, request: Request, include_archived: bool = True) -> StreamingResponse:
    """Every product as CSV, in the format import reads (streamed: big catalogues too)."""
    db = _ctx(request).db

    def rows() -> Iterator[dict[str, str]]:
        after = ""
        while True:
            with db.transaction() as uow:
                tree = repo.category_tree(uow.session)
                query = select(products).where(products.c.sku > after)
                if not include_archived:
                    query = query.where(products.c.active.is_(True))
                batch = uow.session.execute(query.order_by(products.c.sku).limit(2000)).all()
            for r in batch:
                yield {
                    "sku": r.sku,
                    "name": r.name,
                    "description": r.description,
                    "barcodes": BARCODE_SEPARATOR.join(repo.split_barcodes(r.barcode_list)),
                    "category": f" {CATEGORY_SEPARATOR} ".join(repo.category_path(tree, r.category_id)) if r.category_id else "",
                    "price_minor": str(r.price_minor),
                    "cost_minor": str(r.cost_minor),
                    "tax_class": r.tax_class,
                    "unit": r.unit,
                    "active": "true" if r.active else "false",
                }
            if len(batch) < 2000:
                return
            after = batch[-1].sku

    return StreamingResponse(
        export_lines(rows()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="products.csv"'},
    )


@router.get("/products/{product_id}", response_model=ProductOut)
@legacy.get("/{product_id}", response_model=ProductOut, include_in_schema=False)
def get_product(product_id: str, principal: CurrentUser, request: Request, outlet_id: str | None = None) -> ProductOut:
    if outlet_id:
        ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        return _get(uow, product_id, outlet_id)


@router.put("/products/{product_id}", response_model=ProductOut, responses=PRODUCT_CONFLICT)
@legacy.put("/{product_id}", response_model=ProductOut, include_in_schema=False)
def update_product(product_id: str, body: ProductUpdate, manager: Manager, request: Request) -> ProductOut:
    """Change some fields; `active: true` restores an archived product."""
    changes = body.model_dump(exclude_unset=True, exclude={"barcodes"})
    current: ProductOut | None = None
    try:
        with _ctx(request).db.transaction() as uow:
            current = _get(uow, product_id)
            if "category_id" in changes:
                _check_category(uow, changes["category_id"])
            for field in ("name", "price_minor", "cost_minor", "tax_class", "unit", "active", "description"):
                if field in changes and changes[field] is None:
                    del changes[field]  # null means "keep" for fields that cannot be empty
            if changes:
                uow.session.execute(products.update().where(products.c.id == product_id).values(**changes, updated_at=utcnow()))
            if body.barcodes is not None:
                repo.replace_barcodes(uow.session, product_id, body.barcodes)
            product = _get(uow, product_id)
            if (product.name, product.barcodes, product.active) != (current.name, current.barcodes, current.active):
                repo.replace_terms(uow.session, product)
            if product != current:
                if current.active and not product.active:
                    uow.publish(ProductArchived(product_id=product_id))
                uow.publish(ProductChanged(**repo.event_fields(product)))
                feed.record(uow.session, products=[product_id])
                if product.price_minor != current.price_minor:
                    audit.price_changed(uow, current, product.price_minor, manager, request)
    except IntegrityError as exc:
        raise _conflict(exc, current.sku if current else "") from None
    return product


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
@legacy.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
def archive_product(product_id: str, _manager: Manager, request: Request) -> Response:
    """Archive (products with sales history are never deleted)."""
    with _ctx(request).db.transaction() as uow:
        product = _get(uow, product_id)
        if product.active:
            uow.session.execute(products.update().where(products.c.id == product_id).values(active=False, updated_at=utcnow()))
            repo.replace_terms(uow.session, product.model_copy(update={"active": False}))
            uow.publish(ProductArchived(product_id=product_id))
            feed.record(uow.session, products=[product_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the tills' replica feed -------------------------------------------------------------


@router.get("/changes", response_model=ChangesPage)
def catalog_changes(
    principal: CurrentUser,
    request: Request,
    outlet_id: str = Query(min_length=1, max_length=36, description="the till's outlet: prices are this outlet's"),
    cursor: str | None = Query(
        default=None, max_length=64, description="a next_cursor from an earlier page; none to fill from the start"
    ),
    limit: int = Query(default=1000, ge=1, le=5000, description="most entries in this page"),
) -> Response:
    """A till's catalogue replica for one outlet: without a cursor, everything, page by
    page; with a cursor, every change since it (tombstones included: archived products,
    changed barcodes, removed outlet prices, deleted categories), in commit order. Apply
    pages in order; `more: false` means up to date (ADR 0015)."""
    ctx = _ctx(request)
    ensure_known_outlet(ctx.db, principal, outlet_id)
    try:
        after = feed.decode_cursor(cursor, outlet_id) if cursor else 0
        with ctx.db.transaction() as uow:
            page = feed.read_page(uow.session, outlet_id, after, limit)
    except feed.BadCursor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    body = ChangesPage(
        outlet_id=outlet_id,
        products=[ReplicaProduct.model_validate(product) for product in page.products],
        categories=[ReplicaCategory.model_validate(category) for category in page.categories],
        deleted_categories=page.deleted_categories,
        next_cursor=feed.encode_cursor(page.last_seq, outlet_id),
        more=page.more,
    )
    # Validated once and serialized by pydantic-core: a 5,000-product page through
    # response_model was validated a second time and encoded by json.dumps.
    return Response(body.model_dump_json(), media_type="application/json")


# --- per-outlet prices -------------------------------------------------------------------


@router.get("/products/{product_id}/prices", response_model=list[OutletPriceOut])
def list_outlet_prices(product_id: str, principal: CurrentUser, request: Request) -> list[OutletPriceOut]:
    """The outlets (that the caller may see) selling this product at their own price,
    each in the outlet's currency."""
    with _ctx(request).db.transaction() as uow:
        product = _get(uow, product_id)
        rows = uow.session.execute(
            select(price_overrides.c.outlet_id, price_overrides.c.price_minor, price_overrides.c.currency)
            .where(price_overrides.c.product_id == product_id)
            .order_by(price_overrides.c.outlet_id)
        ).all()
    return [
        OutletPriceOut(
            product_id=product_id, outlet_id=r.outlet_id, price_minor=r.price_minor, currency=r.currency or product.currency
        )
        for r in rows
        if principal.may_access(r.outlet_id)
    ]


@router.put(
    "/products/{product_id}/prices/{outlet_id}",
    response_model=OutletPriceOut,
)
def set_outlet_price(
    product_id: str, outlet_id: OutletIdPath, body: OutletPriceIn, principal: Manager, request: Request
) -> OutletPriceOut:
    """This outlet sells the product at its own shelf price (OutletPriceChanged), in the
    outlet's currency (identity's; ADR 0075): a body naming another is refused."""
    ctx = _ctx(request)
    ensure_known_outlet(ctx.db, principal, outlet_id)
    own = replica_currency(ctx.db, outlet_id)
    if own and body.currency and body.currency != own:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"currency: the outlet sells in {own}, so its shelf price is in {own}, not {body.currency}",
        )
    with ctx.db.transaction() as uow:
        product = _get(uow, product_id)
        # An outlet catalog has not heard of yet (its token vouched for it): the currency
        # named, else the product's, as before outlets had their own.
        currency = own or body.currency or product.currency
        row = repo.outlet_price_row(uow.session, product_id, outlet_id)
        current = None if row is None else row.price_minor
        if row is None or (row.price_minor, row.currency) != (body.price_minor, currency):
            if row is None:
                uow.session.execute(
                    price_overrides.insert().values(
                        product_id=product_id,
                        outlet_id=outlet_id,
                        price_minor=body.price_minor,
                        currency=currency,
                        updated_at=utcnow(),
                    )
                )
            else:
                uow.session.execute(
                    update(price_overrides)
                    .where(price_overrides.c.product_id == product_id, price_overrides.c.outlet_id == outlet_id)
                    .values(price_minor=body.price_minor, currency=currency, updated_at=utcnow())
                )
            uow.publish(
                OutletPriceChanged(product_id=product_id, outlet_id=outlet_id, price_minor=body.price_minor, currency=currency),
                outlet_id=outlet_id,
            )
            feed.record(uow.session, outlet_prices=[(product_id, outlet_id)])
            audit.outlet_price_changed(uow, product, outlet_id, current, body.price_minor, principal, request, currency)
    return OutletPriceOut(product_id=product_id, outlet_id=outlet_id, price_minor=body.price_minor, currency=currency)


@router.delete("/products/{product_id}/prices/{outlet_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_outlet_price(product_id: str, outlet_id: OutletIdPath, principal: Manager, request: Request) -> Response:
    """The outlet sells at the product's price again (OutletPriceChanged with no price,
    in the product's currency: what the outlet is charged now)."""
    ensure_known_outlet(_ctx(request).db, principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        product = _get(uow, product_id)
        current = repo.outlet_prices_for(uow.session, [product_id], outlet_id).get(product_id)
        removed = uow.session.execute(
            delete(price_overrides).where(price_overrides.c.product_id == product_id, price_overrides.c.outlet_id == outlet_id)
        ).rowcount
        if removed:
            uow.publish(
                OutletPriceChanged(product_id=product_id, outlet_id=outlet_id, price_minor=None, currency=product.currency),
                outlet_id=outlet_id,
            )
            feed.record(uow.session, outlet_prices=[(product_id, outlet_id)])
            audit.outlet_price_changed(uow, product, outlet_id, current, None, principal, request)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- categories --------------------------------------------------------------------------


def _category_out(tree: dict[str, tuple[str, str | None]], category_id: str) -> CategoryOut:
    name, parent = tree[category_id]
    return CategoryOut(id=category_id, name=name, parent_id=parent, path=" / ".join(repo.category_path(tree, category_id)))


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(_user: CurrentUser, request: Request) -> list[CategoryOut]:
    """The whole tree, flat: each category with its parent and its path from the root."""
    with _ctx(request).db.transaction() as uow:
        tree = repo.category_tree(uow.session)
    return sorted((_category_out(tree, cid) for cid in tree), key=lambda c: c.path.casefold())


@router.post("/categories", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
def create_category(body: CategoryIn, _manager: Manager, request: Request) -> CategoryOut:
    category_id = str(uuid.uuid4())
    with _ctx(request).db.transaction() as uow:
        _check_category(uow, body.parent_id)
        uow.session.execute(
            categories.insert().values(id=category_id, name=body.name, parent_id=body.parent_id, created_at=utcnow())
        )
        feed.record(uow.session, categories=[category_id])
        return _category_out(repo.category_tree(uow.session), category_id)


@router.put("/categories/{category_id}", response_model=CategoryOut)
def update_category(category_id: str, body: CategoryUpdate, _manager: Manager, request: Request) -> CategoryOut:
    """Rename, or move under another parent (never under itself or its own children)."""
    changes: dict[str, Any] = {}
    with _ctx(request).db.transaction() as uow:
        tree = repo.category_tree(uow.session)
        if category_id not in tree:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"category {category_id} not found")
        if body.name is not None:
            changes["name"] = body.name
        if "parent_id" in body.model_fields_set:
            parent = body.parent_id or None
            if parent is not None:
                if parent not in tree:
                    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"category {parent} does not exist")
                if parent in repo.descendants(tree, category_id):
                    raise HTTPException(
                        status.HTTP_422_UNPROCESSABLE_CONTENT, "a category cannot move under itself or its own subcategory"
                    )
            changes["parent_id"] = parent
        if changes:
            uow.session.execute(categories.update().where(categories.c.id == category_id).values(**changes))
            feed.record(uow.session, categories=[category_id])
        return _category_out(repo.category_tree(uow.session), category_id)


@router.delete(
    "/categories/{category_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors({409: "the category has subcategories or products"}),
)
def delete_category(category_id: str, _manager: Manager, request: Request) -> Response:
    """Only an empty category (no products, no subcategories) can be deleted."""
    with _ctx(request).db.transaction() as uow:
        if uow.session.scalar(select(categories.c.id).where(categories.c.id == category_id)) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"category {category_id} not found")
        if uow.session.scalar(select(categories.c.id).where(categories.c.parent_id == category_id).limit(1)):
            raise HTTPException(status.HTTP_409_CONFLICT, "the category has subcategories: move or delete them first")
        if uow.session.scalar(select(products.c.id).where(products.c.category_id == category_id).limit(1)):
            raise HTTPException(status.HTTP_409_CONFLICT, "products are in this category: move them first")
        uow.session.execute(categories.delete().where(categories.c.id == category_id))
        feed.record(uow.session, categories=[category_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- CSV import --------------------------------------------------------------------------


@router.post(
    "/imports",
    response_model=ImportJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
async def start_import(
    principal: Manager,
    request: Request,
    response: Response,
    dry_run: bool = Query(default=False, description="only check the file"),
    filename: str | None = Query(default=None, max_length=200),
) -> ImportJobOut:
    """Upload a product CSV (the body, or a multipart `file` field). Answers at once with
    the job; poll GET /api/catalog/imports/{id} for progress and the errors by row and
    column. Nothing is imported unless every row is valid."""
    settings = _ctx(request).settings
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_part_size=settings.import_max_bytes)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the form needs a `file` field holding the CSV")
        data = await upload.read()
        filename = filename or upload.filename
    else:
        data = b""
        async for part in request.stream():
            data += part
            if len(data) > settings.import_max_bytes:
                raise HTTPException(
                    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                    f"the file is larger than {settings.import_max_bytes} bytes: split it",
                )
    if len(data) > settings.import_max_bytes:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"the file is larger than {settings.import_max_bytes} bytes: split it"
        )
    if not data.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file is empty")
    jobs = _imports(request)
    job_id = await run_in_threadpool(lambda: jobs.start(data, filename=filename, dry_run=dry_run, actor=principal.user_id))
    job = await run_in_threadpool(jobs.get, job_id)
    assert job is not None
    response.headers["Location"] = f"/api/catalog/imports/{job_id}"
    return job


@router.get("/imports/{job_id}", response_model=ImportJobOut)
def get_import(job_id: str, _manager: Manager, request: Request) -> ImportJobOut:
    """Status (validating, importing, done, failed), progress 0..1, counts, and the
    errors by row (line of the file, header = 1) and column."""
    job = _imports(request).get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"import {job_id} not found")
    return job


@router.get("/imports", response_model=list[ImportJobOut])
def list_imports(_manager: Manager, request: Request, limit: int = Query(default=20, ge=1, le=100)) -> list[ImportJobOut]:
    """The latest imports, newest first (errors left out: GET one for them)."""
    with _ctx(request).db.transaction() as uow:
        ids = list(uow.session.scalars(select(import_jobs.c.id).order_by(import_jobs.c.created_at.desc()).limit(limit)))
    jobs = [_imports(request).get(i) for i in ids]
    return [j.model_copy(update={"errors": []}) for j in jobs if j is not None]
