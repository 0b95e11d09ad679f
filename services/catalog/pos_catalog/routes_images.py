"""Product images (issue 17, ADR 0068): a manager uploads one picture a product; catalog
keeps WebP thumbnails of it in its database and serves them under a URL that names
their content, so browsers, the till's service worker and any cache in between may
keep them for good. A new picture gets a new URL; the products' JSON (and the tills'
replica feed) carry the current one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from sqlalchemy import delete, insert, select, update
from starlette.concurrency import run_in_threadpool

from pos_catalog import changes as feed
from pos_catalog import images
from pos_catalog import products as repo
from pos_catalog.config import Settings
from pos_catalog.schemas import ProductOut
from pos_catalog.tables import product_images, products
from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.auth import Manager
from pos_platform.db import utcnow
from pos_platform.openapi import errors

router = APIRouter(prefix="/api/catalog", tags=["product images"])

ProductId = Annotated[str, Path(min_length=1, max_length=36)]
# A browser may keep a thumbnail a year without asking again: its URL changes with it.
CACHE_FOREVER = "public, max-age=31536000, immutable"
# What a multipart form adds around the file (boundaries, part headers).
_FORM_OVERHEAD = 64 * 1024
ACCEPTED = "a JPEG, PNG or WebP image"


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the image is larger than {limit // (1024 * 1024)} MB: save a smaller copy (a product photo needs no more than 1-2 MB)",
    )


async def _read_upload(request: Request, limit: int) -> bytes:
    """The uploaded file's bytes: a multipart form's `file` field, or the whole body."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _FORM_OVERHEAD:
        raise _too_large(limit)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5, max_part_size=limit + _FORM_OVERHEAD)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the form needs a `file` field holding {ACCEPTED}")
        data = await upload.read()
    else:
        data = b""
        async for part in request.stream():
            data += part
            if len(data) > limit:
                raise _too_large(limit)
    if len(data) > limit:
        raise _too_large(limit)
    return data


@router.put(
    "/products/{product_id}/image",
    response_model=ProductOut,
    responses=errors({413: "the file is over the size limit (5 MB)"})
    | unprocessable("the file is not a JPEG, PNG or WebP image, or is damaged, or has too many pixels"),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def put_product_image(product_id: ProductId, manager: Manager, request: Request) -> ProductOut:
    """Set or replace the product's image (managers): a JPEG, PNG or WebP file of at most
    5 MB, as a multipart `file` field or as the body. The format is read from the
    content, not the name. Stored as WebP thumbnails (96 and 320 px, EXIF rotation
    applied, metadata removed); the answer is the product with its new image URLs."""
    ctx = _ctx(request)
    settings = ctx.settings
    data = await _read_upload(request, settings.image_max_bytes)
    try:
        thumbs = await run_in_threadpool(images.make_thumbnails, data)
    except images.ImageRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None

    def store() -> ProductOut:
        with ctx.db.transaction() as uow:
            current = repo.load(uow.session, [product_id])
            if not current:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
            now = utcnow()
            uow.session.execute(delete(product_images).where(product_images.c.product_id == product_id))
            uow.session.execute(
                insert(product_images),
                [
                    {
                        "product_id": product_id,
                        "size": size,
                        "image_key": thumbs.key,
                        "content_type": images.CONTENT_TYPE,
                        "data": blob,
                        "updated_by": manager.user_id,
                        "updated_at": now,
                    }
                    for size, blob in thumbs.by_size.items()
                ],
            )
            uow.session.execute(update(products).where(products.c.id == product_id).values(image_key=thumbs.key, updated_at=now))
            if current[0].image_url != images.image_url(product_id, thumbs.key, 320):
                feed.record(uow.session, products=[product_id])
            return repo.load(uow.session, [product_id])[0]

    return await run_in_threadpool(store)


@router.delete("/products/{product_id}/image", status_code=status.HTTP_204_NO_CONTENT)
def delete_product_image(product_id: ProductId, _manager: Manager, request: Request) -> Response:
    """Remove the product's image (managers); tiles show the product without one."""
    with _ctx(request).db.transaction() as uow:
        current = repo.load(uow.session, [product_id])
        if not current:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} not found")
        if current[0].image_url is not None:
            uow.session.execute(delete(product_images).where(product_images.c.product_id == product_id))
            uow.session.execute(update(products).where(products.c.id == product_id).values(image_key=None, updated_at=utcnow()))
            feed.record(uow.session, products=[product_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/products/{product_id}/image/{key}/{size}.webp",
    response_class=Response,
    responses={
        200: {
            "content": {images.CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "the thumbnail",
        },
        304: {"description": "the copy the browser holds (If-None-Match) is current"},
    },
)
def get_product_image(
    product_id: ProductId,
    key: Annotated[str, Path(min_length=1, max_length=16, pattern="^[0-9a-f]+$")],
    size: Annotated[int, Path(ge=1, le=4096, description="the thumbnail's width in px (96 or 320)")],
    request: Request,
) -> Response:
    """A product's thumbnail, as the products' `image_url` / `thumbnail_url` name it.
    Needs no token (an <img> sends none; a product photo is no secret and its URL cannot
    be guessed without the product id and image key). The content never changes under
    its URL: cached for a year, ETag for revalidation; a replaced image's old URL is a 404."""
    if size not in images.SIZES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {size} px image: the sizes are {', '.join(map(str, images.SIZES))}")
    etag = f'"{key}-{size}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_FOREVER}
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(
            select(product_images.c.content_type, product_images.c.data).where(
                product_images.c.product_id == product_id,
                product_images.c.size == size,
                product_images.c.image_key == key,
            )
        ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such image: the product has another image now, or none")
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(bytes(row.data), media_type=row.content_type, headers=headers)
