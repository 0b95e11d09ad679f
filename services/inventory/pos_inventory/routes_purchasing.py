"""Suppliers and purchase orders (issue 17, ADR 0071): suppliers and the products each
supplies (chain-wide), orders drafted for one outlet and one supplier (from the outlet's
reorder suggestions or line by line), edited while a draft, sent (mailed to the
supplier, or marked sent after a CSV download), and received against in one or more
receipts that move stock through the ledger. Managers for their outlets' orders and
admins everywhere; cashiers none (403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from pos_inventory import purchase_orders as orders
from pos_inventory import stock as ops
from pos_inventory.purchasing import (
    STATUSES,
    OrderStateError,
    ReceiptError,
    draft_from_suggestions,
    order_csv,
    order_mail_text,
    po_number,
)
from pos_inventory.purchasing_schemas import (
    OrderLineOut,
    OrderLinesIn,
    OrderReceiptIn,
    PurchaseOrderIn,
    PurchaseOrderOut,
    SendIn,
    SupplierIn,
    SupplierOut,
    SupplierProductOut,
    SupplierProductsIn,
)
from pos_inventory.purchasing_tables import purchase_orders as po_table
from pos_inventory.routes import context, iso, require_known
from pos_platform.app import unprocessable
from pos_platform.auth import Manager, Principal, ensure_outlet
from pos_platform.db import UnitOfWork, retry_on_deadlock
from pos_platform.mail import Mail, MailRefused, MailSender, MailUnavailable
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet

router = APIRouter(prefix="/api/inventory", tags=["inventory: purchase orders"])

MAX_PO_ID = 2**53
# An order's number in the path: bounded like every integer the API takes.
PoId = Annotated[int, Path(ge=1, le=MAX_PO_ID, description="the order's number (PO-000042 is 42)")]


def sender(request: Request) -> MailSender:
    return request.app.state.po_sender


# --- suppliers ------------------------------------------------------------------------------


def _supplier_out(row: Any, products: list[Any]) -> SupplierOut:
    return SupplierOut(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        note=row.note,
        created_at=iso(row.created_at) or "",
        products=[
            SupplierProductOut(product_id=p.product_id, name=p.name, sku=p.sku, supplier_sku=p.supplier_sku) for p in products
        ],
    )


def _one_supplier(uow: UnitOfWork, supplier_id: str) -> SupplierOut:
    row = orders.supplier(uow, supplier_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"supplier {supplier_id} not found")
    return _supplier_out(row, orders.supplied_products(uow, [row.id])[row.id])


def _name_taken(name: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"there is already a supplier named {name!r}: pick another name")


@router.get("/suppliers", response_model=list[SupplierOut])
def list_suppliers(_principal: Manager, request: Request) -> list[SupplierOut]:
    """Every supplier (they are the chain's, not one outlet's), by name, with the
    products each supplies."""
    with context(request).db.transaction() as uow:
        rows = orders.all_suppliers(uow)
        supplied = orders.supplied_products(uow, [r.id for r in rows])
        return [_supplier_out(r, supplied[r.id]) for r in rows]


@router.post(
    "/suppliers",
    response_model=SupplierOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors({409: "another supplier has this name"}),
)
def create_supplier(body: SupplierIn, principal: Manager, request: Request) -> SupplierOut:
    try:
        with context(request).db.transaction() as uow:
            supplier_id = orders.create_supplier(
                uow, name=body.name, email=body.email, phone=body.phone, note=body.note, actor=principal.user_id
            )
            return _supplier_out(orders.supplier(uow, supplier_id), [])  # a new supplier supplies nothing yet
    except IntegrityError:
        raise _name_taken(body.name) from None


@router.get("/suppliers/{supplier_id}", response_model=SupplierOut, responses=errors({404: "no such supplier"}))
def get_supplier(supplier_id: str, _principal: Manager, request: Request) -> SupplierOut:
    with context(request).db.transaction() as uow:
        return _one_supplier(uow, supplier_id)


@router.put(
    "/suppliers/{supplier_id}",
    response_model=SupplierOut,
    responses=errors({404: "no such supplier", 409: "another supplier has this name"}),
)
def update_supplier(supplier_id: str, body: SupplierIn, _principal: Manager, request: Request) -> SupplierOut:
    try:
        with context(request).db.transaction() as uow:
            if orders.supplier(uow, supplier_id) is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"supplier {supplier_id} not found")
            orders.update_supplier(uow, supplier_id, name=body.name, email=body.email, phone=body.phone, note=body.note)
    except IntegrityError:
        raise _name_taken(body.name) from None
    with context(request).db.transaction() as uow:
        return _one_supplier(uow, supplier_id)


@router.post(
    "/suppliers/{supplier_id}/products",
    response_model=SupplierOut,
    responses=errors({404: "no such supplier"}) | unprocessable("a product the catalog has not announced"),
)
def link_products(supplier_id: str, body: SupplierProductsIn, _principal: Manager, request: Request) -> SupplierOut:
    """The supplier supplies these products (added; a product already linked gets the
    supplier's code given)."""
    with context(request).db.transaction() as uow:
        if orders.supplier(uow, supplier_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"supplier {supplier_id} not found")
    require_known(context(request), [line.product_id for line in body.lines])
    with context(request).db.transaction() as uow:
        orders.link_products(uow, supplier_id, [(line.product_id, line.supplier_sku.strip()) for line in body.lines])
        return _one_supplier(uow, supplier_id)


@router.delete(
    "/suppliers/{supplier_id}/products/{product_id}",
    response_model=SupplierOut,
    responses=errors({404: "no such supplier, or it does not supply the product"}),
)
def unlink_product(supplier_id: str, product_id: str, _principal: Manager, request: Request) -> SupplierOut:
    """The supplier no longer supplies the product (orders already made keep their lines)."""
    with context(request).db.transaction() as uow:
        if orders.supplier(uow, supplier_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"supplier {supplier_id} not found")
        if not orders.unlink_product(uow, supplier_id, product_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"the supplier does not supply product {product_id}")
        return _one_supplier(uow, supplier_id)


# --- orders ---------------------------------------------------------------------------------


def _order_out(uow: UnitOfWork, row: Any) -> PurchaseOrderOut:
    found = orders.lines(uow, row.id)
    levels = orders.on_hand(uow, row.outlet_id, [r.product_id for r in found])
    supplier = orders.supplier(uow, row.supplier_id)
    line_out = [
        OrderLineOut(
            product_id=r.product_id,
            name=r.name,
            sku=r.sku,
            supplier_sku=r.supplier_sku or "",
            qty=r.qty,
            received=r.received,
            outstanding=max(0, r.qty - r.received),
            unit_cost_minor=int(r.unit_cost_minor),
            total_minor=r.qty * int(r.unit_cost_minor),
            on_hand=levels.get(r.product_id, 0),
        )
        for r in found
    ]
    return PurchaseOrderOut(
        id=row.id,
        number=po_number(row.id),
        outlet_id=row.outlet_id,
        outlet_name=orders.outlet_names(uow, [row.outlet_id]).get(row.outlet_id),
        supplier_id=row.supplier_id,
        supplier_name=supplier.name if supplier else "",
        supplier_email=supplier.email if supplier else "",
        status=row.status,
        currency=row.currency,
        note=row.note or "",
        created_by=row.created_by,
        created_at=iso(row.created_at) or "",
        sent_at=iso(row.sent_at),
        sent_to=row.sent_to,
        received_at=iso(row.received_at),
        closed_at=iso(row.closed_at),
        total_minor=sum(line.total_minor for line in line_out),
        lines=line_out,
    )


def _order(uow: UnitOfWork, po_id: int, principal: Principal, *, for_update: bool = False) -> Any:
    row = orders.header(uow, po_id, for_update=for_update)
    if row is None or not principal.may_access(row.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"purchase order {po_number(po_id)} not found")
    return row


def _check_lines(uow: UnitOfWork, supplier_id: str, product_ids: list[str]) -> None:
    """Every line is a product the supplier supplies (422 naming the others)."""
    if len(set(product_ids)) != len(product_ids):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a product is on the order twice: give each once")
    supplied = {p.product_id for p in orders.supplied_products(uow, [supplier_id])[supplier_id]}
    foreign = [p for p in product_ids if p not in supplied]
    if foreign:
        names = ops.product_names(uow, foreign)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"not supplied by this supplier: {', '.join(names.get(p, p) for p in foreign)} (link the product to the supplier first)",
        )


@router.post(
    "/purchase-orders",
    response_model=PurchaseOrderOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors({404: "the outlet does not exist or is not one of the caller's; or no such supplier"})
    | unprocessable("no lines, nothing to reorder from this supplier, or a product the supplier does not supply"),
)
def create_order(body: PurchaseOrderIn, principal: Manager, request: Request) -> PurchaseOrderOut:
    """Draft an order for one outlet from one supplier: from the outlet's reorder
    suggestions (every product of this supplier at or below its reorder point, at the
    suggested quantity, costed at what the supplier last charged), or from the lines
    given. Nothing is sent and no stock moves."""
    ctx = context(request)
    ensure_known_outlet(ctx.db, principal, body.outlet_id)
    if body.from_suggestions and body.lines:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give lines or from_suggestions, not both")
    if not body.from_suggestions and not body.lines:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give the lines, or draft from_suggestions")
    with ctx.db.transaction() as uow:
        supplier = orders.supplier(uow, body.supplier_id)
        if supplier is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"supplier {body.supplier_id} not found")
        currency = orders.outlet_currency(uow, body.outlet_id)
        if currency is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "the outlet's currency is not known to inventory yet (its announcement has not arrived): try again in a moment",
            )
        if body.from_suggestions:
            supplied = {p.product_id for p in orders.supplied_products(uow, [supplier.id])[supplier.id]}
            drafted = draft_from_suggestions(orders.suggestions(uow, body.outlet_id, sorted(supplied)), supplied)
            if not drafted:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    f"nothing to reorder from {supplier.name}: none of its {len(supplied)} products is at or below its "
                    "reorder point at this outlet",
                )
            costs = orders.last_costs(uow, supplier.id, currency, [p for p, _q in drafted])
            lines = [(p, q, costs.get(p, 0)) for p, q in drafted]
        else:
            _check_lines(uow, supplier.id, [line.product_id for line in body.lines])
            lines = [(line.product_id, line.qty, line.unit_cost_minor) for line in body.lines]
        po_id = orders.create_order(
            uow,
            outlet_id=body.outlet_id,
            supplier_id=supplier.id,
            currency=currency,
            lines=lines,
            note=body.note.strip(),
            actor=principal.user_id,
        )
        return _order_out(uow, orders.header(uow, po_id))


@router.get("/purchase-orders", response_model=list[PurchaseOrderOut])
def list_orders(
    principal: Manager,
    request: Request,
    outlet_id: str | None = Query(default=None, max_length=36),
    supplier_id: str | None = Query(default=None, max_length=36),
    status_: str | None = Query(default=None, alias="status", pattern=f"^({'|'.join(STATUSES)})$"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[PurchaseOrderOut]:
    """Orders of the outlets the caller may see, newest first."""
    query = select(po_table)
    query = principal.where_visible(query, po_table.c.outlet_id, outlet_id)
    if supplier_id:
        query = query.where(po_table.c.supplier_id == supplier_id)
    if status_:
        query = query.where(po_table.c.status == status_)
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query.order_by(po_table.c.id.desc()).limit(limit)).all()
        return [_order_out(uow, r) for r in rows]


@router.get("/purchase-orders/{po_id}", response_model=PurchaseOrderOut, responses=errors({404: "no such order here"}))
def get_order(po_id: PoId, principal: Manager, request: Request) -> PurchaseOrderOut:
    with context(request).db.transaction() as uow:
        return _order_out(uow, _order(uow, po_id, principal))


@router.put(
    "/purchase-orders/{po_id}/lines",
    response_model=PurchaseOrderOut,
    responses=errors({404: "no such order here", 409: "the order is no longer a draft"})
    | unprocessable("a product the supplier does not supply, or on the order twice"),
)
def edit_lines(po_id: PoId, body: OrderLinesIn, principal: Manager, request: Request) -> PurchaseOrderOut:
    """Replace the draft's lines (quantities and unit costs) and, if given, its note."""

    def replace(uow: UnitOfWork, row: Any) -> None:
        _check_lines(uow, row.supplier_id, [line.product_id for line in body.lines])
        orders.replace_lines(
            uow,
            row,
            [(line.product_id, line.qty, line.unit_cost_minor) for line in body.lines],
            None if body.note is None else body.note.strip(),
        )

    return _move_order(request, po_id, principal, replace)


@router.get(
    "/purchase-orders/{po_id}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the order as CSV"}} | errors({404: "no such order here"}),
)
def order_as_csv(po_id: PoId, principal: Manager, request: Request) -> Response:
    """The order as the supplier reads it: names, SKUs, quantities, decimal costs in the
    order's currency, and a total row."""
    with context(request).db.transaction() as uow:
        sheet = orders.sheet(uow, _order(uow, po_id, principal))
    return Response(
        content=order_csv(sheet),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{sheet.number}.csv"'},
    )


@router.post(
    "/purchase-orders/{po_id}/send",
    response_model=PurchaseOrderOut,
    responses=errors(
        {
            404: "no such order here",
            409: "the order is not a draft",
            503: "the mail server could not be reached, or e-mail is not set up: the order stays a draft",
        }
    )
    | unprocessable(
        "the supplier has no e-mail address, the order has a line without a cost, or the mail server refused the address"
    ),
)
async def send_order(po_id: PoId, body: SendIn, principal: Manager, request: Request) -> PurchaseOrderOut:
    """Send a draft: mailed to the supplier's address (the order as text and CSV in the
    mail), or, with `mail: false`, marked sent (it went by the CSV download, phone or the
    supplier's portal). A mail the server does not take leaves the order a draft."""
    ctx = context(request)

    def read() -> tuple[Any, Any]:
        with ctx.db.transaction() as uow:
            row = _order(uow, po_id, principal)
            orders.check_sendable(row)
            return orders.supplier(uow, row.supplier_id), orders.sheet(uow, row)

    try:
        supplier, sheet = await run_in_threadpool(read)
    except OrderStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    sent_to = ""
    if body.mail:
        if not supplier.email:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{supplier.name} has no e-mail address: add one to the supplier, or download the CSV and mark the order sent",
            )
        subject, text = order_mail_text(sheet)
        try:
            await sender(request).send(Mail(to=supplier.email, subject=subject, text=text))
        except MailRefused as refused:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{sheet.number} was not sent: {refused}. Check the supplier's address."
            ) from None
        except MailUnavailable as down:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"{sheet.number} was not sent: {down}. Try again later, or download the CSV and mark the order sent.",
            ) from None
        sent_to = supplier.email

    def mark() -> PurchaseOrderOut:
        with ctx.db.transaction() as uow:
            locked = _order(uow, po_id, principal, for_update=True)
            orders.mark_sent(uow, locked, sent_to=sent_to, actor=principal.user_id)
            return _order_out(uow, orders.header(uow, po_id))

    try:
        return await run_in_threadpool(mark)
    except OrderStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.post(
    "/purchase-orders/{po_id}/receive",
    response_model=PurchaseOrderOut,
    responses=errors({404: "no such order here", 409: "the order is not sent or partially received"})
    | unprocessable("a product not on the order, more than is outstanding, or nothing received"),
)
def receive_order(po_id: PoId, body: OrderReceiptIn, principal: Manager, request: Request) -> PurchaseOrderOut:
    """Record goods that arrived against the order: each line with a quantity goes into
    the outlet's stock (ledger kind "receipt", reason "purchase order", reference the
    order's number). Lines may arrive over several receipts; the order is partially
    received until every line is in full. More than is outstanding is refused (nothing
    moves): receive the extra as a plain goods receipt."""
    try:
        return _receive(context(request), po_id, body, principal)
    except OrderStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ReceiptError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@retry_on_deadlock
def _receive(ctx: Any, po_id: int, body: OrderReceiptIn, principal: Principal) -> PurchaseOrderOut:
    with ctx.db.transaction() as uow:
        row = _order(uow, po_id, principal, for_update=True)
        ensure_outlet(principal, row.outlet_id)
        receipt: dict[str, int] = {}
        for line in body.lines:
            receipt[line.product_id] = receipt.get(line.product_id, 0) + line.qty
        supplier = orders.supplier(uow, row.supplier_id)
        orders.receive(uow, row, receipt, actor=principal.user_id, supplier_name=supplier.name if supplier else "")
        return _order_out(uow, orders.header(uow, po_id))


def _move_order(request: Request, po_id: int, principal: Principal, move: Callable[[UnitOfWork, Any], None]) -> PurchaseOrderOut:
    """One state change of an order under its row lock; a change its state forbids: 409."""
    with context(request).db.transaction() as uow:
        row = _order(uow, po_id, principal, for_update=True)
        try:
            move(uow, row)
        except OrderStateError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return _order_out(uow, orders.header(uow, po_id))


@router.post(
    "/purchase-orders/{po_id}/cancel",
    response_model=PurchaseOrderOut,
    responses=errors({404: "no such order here", 409: "goods were received against it, or it is closed"}),
)
def cancel_order(po_id: PoId, principal: Manager, request: Request) -> PurchaseOrderOut:
    """Cancel a draft or a sent order before anything was received (tell the supplier
    yourself if it was sent)."""
    return _move_order(request, po_id, principal, orders.cancel)


@router.post(
    "/purchase-orders/{po_id}/close",
    response_model=PurchaseOrderOut,
    responses=errors({404: "no such order here", 409: "the order is not partially received"}),
)
def close_order(po_id: PoId, principal: Manager, request: Request) -> PurchaseOrderOut:
    """A partially received order whose rest will not come: it becomes received, its
    lines short of what was ordered (nothing moves)."""
    return _move_order(request, po_id, principal, orders.close_short)
