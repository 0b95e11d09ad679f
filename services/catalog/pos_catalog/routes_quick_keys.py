"""Quick keys (issue 17): the products an outlet's tills show as tiles on their first
screen, arranged by a manager, so the everyday items are one tap each instead of a
category, the item and back. Catalog keeps them because they are products: a tile shows
the product as the catalog has it now (name, the outlet's price), and an archived
product drops out of the tiles by itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import Field, field_validator
from sqlalchemy import delete, insert, select

from pos_catalog import products as repo
from pos_catalog.config import Settings
from pos_catalog.schemas import ProductOut, Strict
from pos_catalog.tables import products, quick_keys
from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.auth import CurrentUser, Manager, ensure_outlet
from pos_platform.db import utcnow
from pos_platform.outlets import ensure_known_outlet

router = APIRouter(prefix="/api/catalog", tags=["quick keys"])

# A till's first screen: 6 tiles a row on a 1280 px screen, 8 rows.
QUICK_KEYS_MAX = 48

OutletId = Annotated[str, Path(min_length=1, max_length=36)]


class QuickKeysIn(Strict):
    product_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(
        max_length=QUICK_KEYS_MAX, description=f"the tiles in order, at most {QUICK_KEYS_MAX}; [] removes them all"
    )

    @field_validator("product_ids")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for product_id in value:
            if product_id in seen:
                raise ValueError(f"product {product_id} is on the tiles twice: each product once")
            seen.add(product_id)
        return value


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def _tiles(request: Request, outlet_id: str) -> list[ProductOut]:
    with _ctx(request).db.transaction() as uow:
        ids = list(
            uow.session.scalars(
                select(quick_keys.c.product_id).where(quick_keys.c.outlet_id == outlet_id).order_by(quick_keys.c.position)
            )
        )
        return [p for p in repo.load(uow.session, ids, outlet_id=outlet_id) if p.active]


@router.get("/outlets/{outlet_id}/quick-keys", response_model=list[ProductOut])
def get_quick_keys(outlet_id: OutletId, principal: CurrentUser, request: Request) -> list[ProductOut]:
    """The outlet's tiles in order, each product as a search result gives it (with the
    outlet's own price); archived products are left out."""
    ensure_outlet(principal, outlet_id)
    return _tiles(request, outlet_id)


@router.put(
    "/outlets/{outlet_id}/quick-keys",
    response_model=list[ProductOut],
    responses=unprocessable("a product is unknown or archived, or listed twice, or more than 48"),
)
def put_quick_keys(outlet_id: OutletId, body: QuickKeysIn, manager: Manager, request: Request) -> list[ProductOut]:
    """Replace the outlet's tiles (managers of the outlet)."""
    db = _ctx(request).db
    ensure_known_outlet(db, manager, outlet_id)
    with db.transaction() as uow:
        if body.product_ids:
            found = dict(
                uow.session.execute(select(products.c.id, products.c.active).where(products.c.id.in_(body.product_ids))).all()
            )
            for position, product_id in enumerate(body.product_ids, start=1):
                if product_id not in found:
                    raise HTTPException(
                        status.HTTP_422_UNPROCESSABLE_ENTITY, f"tile {position}: product {product_id} does not exist"
                    )
                if not found[product_id]:
                    raise HTTPException(
                        status.HTTP_422_UNPROCESSABLE_ENTITY,
                        f"tile {position}: product {product_id} is archived and cannot be sold",
                    )
        uow.session.execute(delete(quick_keys).where(quick_keys.c.outlet_id == outlet_id))
        if body.product_ids:
            now = utcnow()
            uow.session.execute(
                insert(quick_keys),
                [
                    {"outlet_id": outlet_id, "position": i, "product_id": p, "updated_by": manager.user_id, "updated_at": now}
                    for i, p in enumerate(body.product_ids, start=1)
                ],
            )
    return _tiles(request, outlet_id)
