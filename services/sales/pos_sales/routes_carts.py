"""Carts before payment: quote, park and resume, void; the price replica; per-outlet
settings. (Registered before routes.py: these static paths must win over /{sale_id}.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.audit import source_ip
from pos_platform.auth import Cashier, CurrentUser, Manager, ensure_outlet
from pos_platform.currencies import currency_problem
from pos_platform.db import utcnow
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet, ensure_known_outlet_async
from pos_sales import audit, outlet_policy, registers, voids
from pos_sales.checkout import Quote, price, quote_body, shelf_prices
from pos_sales.config import Settings
from pos_sales.domain import CheckoutError
from pos_sales.outlet_policy import OutletSettings
from pos_sales.responses import Quote as QuoteOut
from pos_sales.responses import Void
from pos_sales.schemas import CartIn, ParkedCart, ParkIn, PriceOut, VoidIn
from pos_sales.tables import parked_carts, price_replica, sales
from pos_sales.web import answer, approvals

router = APIRouter(prefix="/api/sales", tags=["carts"])


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


@router.post("/quote", response_model=QuoteOut, responses=unprocessable("a product is not for sale, or a tax class has no rate"))
async def quote(body: CartIn, principal: Cashier, request: Request) -> JSONResponse:
    """Price a cart without selling it: lines, discounts, tax and total as the sale would
    have them, and the discounts that would need a manager's approval. An outlet taxed
    by an external API gets its answer (or, past the timeout, the table's figures marked
    `tax_estimated`) and a signed `tax_quote` for the sale to bring back: the sale then
    charges exactly this tax."""
    ensure_outlet(principal, body.outlet_id)
    ctx = _ctx(request)
    result = await run_in_threadpool(_priced, ctx, body)
    desk = request.app.state.checkout.tax
    if not desk.uses_external(result.policy):
        return JSONResponse(quote_body(result))
    tax_request = result.tax_request(f"quote:{body.outlet_id}")
    answer = await desk.calculate(result.cart, result.policy, tax_request)
    try:
        taxed = result.with_tax(answer)
    except CheckoutError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    token = desk.signer.sign(body.outlet_id, tax_request.fingerprint(), answer)
    return JSONResponse(quote_body(taxed) | {"tax_quote": token})


def _priced(ctx: ServiceContext[Settings], body: CartIn) -> Quote:
    try:
        try:
            with ctx.db.transaction() as uow:
                return price(uow, ctx.settings, body)
        except registers.RegisterProblem as problem:
            # A register made a moment ago: wait for its announcement, then price again.
            if not (problem.unknown and body.register_id and registers.wait_until_known(ctx.db, body.register_id)):
                raise
            with ctx.db.transaction() as uow:
                return price(uow, ctx.settings, body)
    except CheckoutError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get("/prices/{product_id}", response_model=PriceOut)
def get_price(
    product_id: str,
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = Query(
        default=None, max_length=36, description="the price charged at this outlet (its own shelf price, if it has one)"
    ),
) -> PriceOut:
    """The price this service will charge (its replica of the catalog); at an outlet
    the caller may see (another outlet's own prices are its business: 404, as catalog)."""
    if outlet_id is not None:
        ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(price_replica).where(price_replica.c.product_id == product_id)).first()
        charged = shelf_prices(uow, outlet_id, {product_id}, active_only=False).get(product_id) if outlet_id else None
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} is not known to sales yet")
    answer = PriceOut(**{k: getattr(row, k) for k in PriceOut.model_fields})
    if charged is not None:
        answer.price_minor, answer.currency = charged.price_minor, charged.currency
    return answer


@router.get("/outlets/{outlet_id}/settings", response_model=OutletSettings)
def get_outlet_settings(outlet_id: str, principal: CurrentUser, request: Request) -> OutletSettings:
    """How the outlet prices and prints (the service's defaults until a manager saves some)."""
    ensure_outlet(principal, outlet_id)
    ctx = _ctx(request)
    with ctx.db.transaction() as uow:
        return outlet_policy.load(uow, outlet_id, ctx.settings)


@router.put("/outlets/{outlet_id}/settings", response_model=OutletSettings)
def put_outlet_settings(outlet_id: str, body: OutletSettings, principal: Manager, request: Request) -> OutletSettings:
    """Tax rates per tax class, tax-inclusive or exclusive prices, rounding, cash rounding,
    discount approval threshold, receipt header and footer, the foreign currencies the
    till takes as cash (ISO 4217). Applies to the next sale."""
    ensure_known_outlet(_ctx(request).db, principal, outlet_id)
    problem = currency_problem(body.currency)
    if problem:
        # Checked here, not in the model: settings stored before may hold an old code.
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"currency: {problem}")
    ctx = _ctx(request)
    with ctx.db.transaction() as uow:
        known = outlet_policy.identity_outlet(uow, outlet_id)
        zone = known.timezone if known else None
        if zone and body.timezone != zone:
            # One place for the zone: identity's outlet (ADR 0072). A client that sends back
            # what it read sends this one.
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"timezone: the outlet's time zone is {zone}, set on the outlet itself (Back office → Outlets → Edit, "
                f"PATCH /api/identity/outlets/{outlet_id}); send {zone} here, or change it there",
            )
        own = known.currency if known else None
        if own and body.currency != own:
            # The currency is identity's outlet's and never changes (ADR 0075).
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"currency: the outlet's currency is {own}, set when the outlet was created in identity and never "
                f"changed; send {own} here",
            )
        before = outlet_policy.load(uow, outlet_id, ctx.settings)
        body.rates_stale_after_days = ctx.settings.rates_stale_after_days  # read-only: the service's
        outlet_policy.save(uow, outlet_id, body, principal.user_id, before)
        audit.settings_changed(uow, outlet_id, before.model_dump(mode="json"), body.model_dump(mode="json"), principal, request)
    return body


# --- park and resume ---------------------------------------------------------------------


def _parked(row: Any) -> ParkedCart:
    return ParkedCart(
        id=row.id,
        outlet_id=row.outlet_id,
        register_id=row.register_id,
        cashier_id=row.cashier_id,
        note=row.note,
        cart=CartIn.model_validate_json(row.cart),
        created_at=row.created_at.isoformat() + "Z",
    )


@router.post(
    "/parked",
    response_model=ParkedCart,
    status_code=status.HTTP_201_CREATED,
    responses=errors({409: "the cart id was already sold or voided"}),
)
def park_cart(body: ParkIn, principal: Cashier, request: Request) -> ParkedCart:
    """Put a cart aside (the customer fetches something); parking the same id again
    replaces it. Nothing is reserved or priced until it is sold."""
    ensure_known_outlet(_ctx(request).db, principal, body.outlet_id)
    registers.require_or_422(_ctx(request).db, body.outlet_id, body.register_id)
    cart = CartIn(outlet_id=body.outlet_id, register_id=body.register_id, lines=body.lines, discount=body.discount)
    with _ctx(request).db.transaction() as uow:
        if uow.session.scalar(select(sales.c.id).where(sales.c.id == body.id)) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, "this cart id was already sold or voided")
        uow.session.execute(parked_carts.delete().where(parked_carts.c.id == body.id))
        uow.session.execute(
            parked_carts.insert().values(
                id=body.id,
                outlet_id=body.outlet_id,
                register_id=body.register_id,
                cashier_id=principal.user_id,
                note=body.note,
                cart=cart.model_dump_json(),
                created_at=utcnow(),
            )
        )
        row = uow.session.execute(select(parked_carts).where(parked_carts.c.id == body.id)).one()
    return _parked(row)


@router.get("/parked", response_model=list[ParkedCart])
def list_parked(
    principal: Cashier, request: Request, outlet_id: str | None = None, register_id: str | None = None
) -> list[ParkedCart]:
    """Parked carts of the outlets the caller works at, oldest first."""
    query = select(parked_carts)
    query = principal.where_visible(query, parked_carts.c.outlet_id, outlet_id)
    if register_id:
        query = query.where(parked_carts.c.register_id == register_id)
    with _ctx(request).db.transaction() as uow:
        return [_parked(r) for r in uow.session.execute(query.order_by(parked_carts.c.created_at).limit(200))]


@router.post("/parked/{cart_id}/resume", response_model=ParkedCart)
def resume_cart(cart_id: str, principal: Cashier, request: Request) -> ParkedCart:
    """Take a parked cart back (it is removed from the parked list, once: two tills
    resuming it at the same moment cannot both get it). Post it as a sale with its id."""
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(parked_carts).where(parked_carts.c.id == cart_id).with_for_update()).first()
        if row is None or not principal.may_access(row.outlet_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no parked cart {cart_id}")
        uow.session.execute(parked_carts.delete().where(parked_carts.c.id == cart_id))
    return _parked(row)


# --- void ---------------------------------------------------------------------------------


@router.post(
    "/voids",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"model": Void, "description": "voided; the body is the void as recorded"}}
    | errors(
        {
            403: "needs a manager's approval",
            409: "the id belongs to a completed, pending or failed sale",
            503: "the void could not be stored: post it again",
        }
    )
    | unprocessable("the register is not one of the outlet's"),
)
async def void_cart(body: VoidIn, principal: Cashier, request: Request) -> JSONResponse:
    """Void a cart before payment (a parked one, or the one on the till): recorded with a
    reason and the approving manager, SaleVoided published; nothing charged, no stock
    moved. A completed sale is refunded, not voided. Repeating the same void is safe."""
    ensure_outlet(principal, body.outlet_id)
    ctx = _ctx(request)
    found = await run_in_threadpool(voids.stored_void, ctx.db, body)
    if found is not None:
        return answer(found)
    await ensure_known_outlet_async(ctx.db, principal, body.outlet_id)
    outcome = await run_in_threadpool(
        voids.void_cart,
        ctx.db,
        ctx.settings,
        body,
        principal,
        approvals(request, body.approved_by),
        source_ip=source_ip(request),
    )
    return answer(outcome)
