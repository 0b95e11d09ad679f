"""What the sales endpoints answer, as pydantic models (issue 18, ADR 0065): the receipt,
the sale, the refund slip, the void, the quote, the shift, the cash movement and the
Z-report. They are the OpenAPI documents' schemas, so the web app's generated types
(web/src/lib/api-types/sales.ts) follow them.

The answers themselves are built as dicts (the receipt is stored as JSON and answered
again byte for byte on a retry); services/sales/tests/test_response_models.py checks
that each answer round-trips through its model with nothing lost or added. A key that
is only sometimes present is optional here (`None` default): the answer leaves it out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from pos_contracts import Envelope


class TaxBand(BaseModel):
    rate_bp: int
    net_minor: int
    tax_minor: int


class Shop(BaseModel):
    """The outlet's receipt settings stamped at the sale."""

    name: str
    address: list[str]
    tax_number: str


class CartDiscountOut(BaseModel):
    kind: str = Field(description="percent or amount")
    value: int = Field(description="percent: basis points; amount: minor units")
    reason: str | None


class ReceiptLine(BaseModel):
    line_no: int
    product_id: str
    sku: str
    name: str
    category_id: str | None
    qty: int
    unit_price_minor: int
    gross_minor: int = Field(description="before discounts")
    discount_minor: int = Field(description="line discount and its share of the cart discount")
    tax_rate_bp: int
    tax_minor: int
    total_minor: int


class ReceiptTender(BaseModel):
    kind: str = Field(description="cash, card or foreign_cash")
    amount_minor: int = Field(description="what the tender paid of the sale, in the receipt's currency")
    tendered_minor: int
    # foreign_cash only (ADR 0061): the currency handed over, how much, the amount due in
    # it, the change given in the receipt's currency, and the rate the server stamped.
    currency: str | None = None
    foreign_minor: int | None = None
    due_foreign_minor: int | None = None
    change_minor: int | None = None
    rate: str | None = Field(default=None, description="units of `currency` per unit of the receipt's currency")
    rate_source: str | None = None
    rate_as_of: str | None = None
    # card taken offline on the shop's card reader (ADR 0073): its reference, captured at the sync.
    reader_ref: str | None = Field(default=None, description="card: the card reader's reference of the payment")
    capture: str | None = Field(default=None, description="card taken offline: 'deferred' (captured when the sale synced)")


class CardDeclinedAfterSale(BaseModel):
    owed_minor: int = Field(description="what the customer still owes: the card payments declined at capture")
    decline_code: str


class TaxJurisdiction(BaseModel):
    """The tax API's figures for one jurisdiction over the whole cart (ADR 0064)."""

    name: str
    level: str
    code: str
    rate: str = Field(description="a decimal string, e.g. '0.0725'")
    taxable_minor: int
    tax_minor: int


class TaxLineOut(BaseModel):
    """The tax API's figures for one line of a sale and one jurisdiction, as stored."""

    line_no: int
    jurisdiction: str
    level: str
    code: str
    rate: str
    taxable_minor: int
    tax_minor: int


class TaxFields(BaseModel):
    """Who calculated the tax: present on quotes and receipts of outlets taxed through an
    external API (left out for the built-in table)."""

    tax_source: str | None = Field(default=None, description="builtin, external, or estimated (the API did not answer in time)")
    tax_estimated: bool | None = Field(default=None, description="the table's figures stood in for the tax API's")
    tax_estimated_reason: str | None = None
    tax_calculation_id: str | None = Field(default=None, description="the tax API's reference of the calculation")
    tax_jurisdictions: list[TaxJurisdiction] | None = None


class Receipt(TaxFields):
    """A completed sale's receipt, as POST /api/sales answers it and the till prints it."""

    sale_id: str
    receipt_number: str
    outlet_id: str
    register_id: str | None
    register_number: int | None
    register_name: str | None
    shift_id: str | None
    cashier_id: str
    cashier_name: str
    approved_by: str | None = Field(description="the manager who approved a discount above the threshold")
    status: str
    currency: str
    lines: list[ReceiptLine]
    tax: list[TaxBand]
    items: int
    gross_minor: int
    discount_minor: int
    cart_discount: CartDiscountOut | None
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    rounding_minor: int = Field(description="the cash rounding of the amount due")
    due_minor: int
    tenders: list[ReceiptTender]
    tendered_minor: int
    change_minor: int
    prices_include_tax: bool
    shop: Shop | None
    header: list[str]
    footer: list[str]
    completed_at: str
    offline: bool | None = Field(default=None, description="taken while the till was offline, synced later")
    received_at: str | None = Field(default=None, description="offline: when the sale reached the services")
    recorded: str | None = Field(default=None, description="offline sync of a sale completed online: 'online'")
    card_declined_after_sale: CardDeclinedAfterSale | None = Field(
        default=None, description="offline: the card taken on the reader was declined at capture (a sync exception lists it)"
    )
    copy_: int | None = Field(default=None, alias="copy", description="a reprint: the copy's number")


class SaleLine(ReceiptLine):
    refunded_qty: int = Field(description="how many of the line were refunded so far")


class VoidLine(BaseModel):
    product_id: str
    qty: int


class SaleRefund(BaseModel):
    refund_id: str
    status: str
    total_minor: int


def _optional(model: type[BaseModel], name: str, doc: str, **fields: Any) -> type[BaseModel]:
    """`model` with every field optional (left out of the answer when absent), plus `fields`."""
    optional: dict[str, Any] = {
        field_name: (info.annotation | None, Field(default=None, alias=info.alias, description=info.description))
        for field_name, info in model.model_fields.items()
        if field_name not in fields
    }
    return create_model(name, __doc__=doc, __base__=None, **optional, **fields)


# GET /api/sales/{id}: the receipt of a completed sale, the failure of a failed one (its
# detail, a decline code), the void of a voided cart, or only the id of one still
# pending; with its current state.
Sale = _optional(
    Receipt,
    "Sale",
    "A sale: its receipt once completed (else what failed), its current status, fulfilment and refunds.",
    sale_id=(str, ...),
    status=(str, Field(description="PENDING, COMPLETED, FAILED or VOIDED")),
    fulfilment=(str, Field(description="whether inventory has deducted the stock")),
    oversold=(bool, ...),
    refunded_minor=(int, ...),
    refunds=(list[SaleRefund], ...),
    lines=(list[SaleLine | VoidLine] | None, Field(default=None, description="a voided cart's lines are VoidLines")),
    reason=(str | None, Field(default=None, description="a voided cart: why")),
    voided_at=(str | None, None),
    detail=(str | None, Field(default=None, description="a failed sale: why")),
    code=(str | None, None),
    decline_code=(str | None, None),
    tax_lines=(list[TaxLineOut] | None, Field(default=None, description="the tax API's figures per line and jurisdiction")),
)


class RefundLineOut(BaseModel):
    line_no: int
    product_id: str
    name: str
    qty: int
    total_minor: int
    tax_minor: int
    restock: bool


class RefundTender(BaseModel):
    kind: str
    amount_minor: int


class RefundSlip(BaseModel):
    """A completed refund, as POST /api/sales/{id}/refunds answers it and the slip prints it."""

    refund_id: str
    sale_id: str
    receipt_number: str | None
    outlet_id: str
    register_id: str | None
    shift_id: str | None
    cashier_id: str
    cashier_name: str
    approved_by: str | None
    status: str
    currency: str
    destination: Literal["original", "cash"] = Field(description="original (back to the tenders that paid) or cash")
    reason: str
    lines: list[RefundLineOut]
    total_minor: int
    tax_minor: int
    rounding_minor: int
    tenders: list[RefundTender]
    shop: Shop | None
    header: list[str]
    refunded_at: str | None


# GET /api/sales/refunds/{id} (and the list of a sale's refunds): the slip, the draft of a
# pending one, or what failed.
Refund = _optional(
    RefundSlip,
    "Refund",
    "A refund: its slip once completed, else what failed (detail).",
    refund_id=(str, ...),
    sale_id=(str, ...),
    outlet_id=(str, ...),
    status=(str, Field(description="PENDING, COMPLETED or FAILED")),
    detail=(str | None, Field(default=None, description="a failed refund: why")),
)


class Void(BaseModel):
    sale_id: str
    status: str = Field(description="VOIDED")
    outlet_id: str
    register_id: str | None
    cashier_id: str
    approved_by: str | None
    reason: str
    currency: str
    total_minor: int
    lines: list[VoidLine]
    voided_at: str


class Quote(TaxFields):
    """A cart priced as the sale would price it."""

    currency: str
    lines: list[ReceiptLine]
    tax: list[TaxBand]
    items: int
    gross_minor: int
    discount_minor: int
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    cash_rounding_minor: int
    prices_include_tax: bool
    needs_approval: list[str] = Field(description="the discounts above the outlet's threshold, described for the cashier")
    tax_quote: str | None = Field(
        default=None, description="an outlet taxed by an external API: the signed figures the sale brings back"
    )


class CurrencyAmount(BaseModel):
    currency: str
    amount_minor: int = Field(description="minor units of `currency`")


class Shift(BaseModel):
    id: str
    outlet_id: str
    register_id: str
    status: Literal["open", "closed"]
    currency: str
    opened_by: str
    opened_at: str
    opening_float_minor: int
    closed_by: str | None
    closed_at: str | None
    counted_cash_minor: int | None
    foreign_floats: list[CurrencyAmount] = Field(
        description="the opening float per foreign currency (ADR 0063); only currencies with a float"
    )
    foreign_counted: list[CurrencyAmount] = Field(
        description="the blind count per foreign currency, once closed (empty while open)"
    )
    expected_cash_minor: int | None = Field(default=None, description="only once closed, and not to a cashier (blind close)")
    over_short_minor: int | None = Field(default=None, description="only once closed, and not to a cashier (blind close)")


class CashMovement(BaseModel):
    id: str
    shift_id: str
    kind: Literal["in", "out"]
    amount_minor: int = Field(description="minor units of `currency`")
    currency: str = Field(description="the outlet's currency or a foreign one it accepts")
    reason: str
    cashier_id: str
    created_at: str


class ZSales(BaseModel):
    count: int
    gross_minor: int
    discount_minor: int
    total_minor: int
    tax_minor: int
    rounding_minor: int


class ZRefunds(BaseModel):
    count: int
    total_minor: int
    tax_minor: int


class ZVoids(BaseModel):
    count: int


class ZTender(BaseModel):
    taken_minor: int
    refunded_minor: int


class ZCash(BaseModel):
    opening_float_minor: int
    sales_minor: int
    refunds_minor: int
    in_minor: int
    out_minor: int
    foreign_change_minor: int
    expected_minor: int
    counted_minor: int | None = Field(default=None, description="the Z-report of a closed shift (not an X-report)")
    over_short_minor: int | None = Field(default=None, description="the Z-report of a closed shift (not an X-report)")


class ZForeignCash(BaseModel):
    currency: str
    tenders: int
    taken_minor: int
    expected_minor: int
    change_given_minor: int


class ZConverted(BaseModel):
    """A foreign currency's over/short converted to the outlet's currency: an indication
    at a stated rate, not money that moved."""

    currency: str = Field(description="the outlet's currency")
    over_short_minor: int = Field(description="minor units of the outlet's currency, nearest, ties to even")
    rate: str = Field(description="units of the foreign currency per unit of the outlet's (a decimal string)")
    rate_source: str
    rate_as_of: str
    rate_basis: Literal["sale", "payments"] = Field(
        description="sale: the rate stamped on the shift's last sale in that currency; payments: payments' rate at the close"
    )


class ZCurrencyCash(BaseModel):
    """The drawer in one currency (ADR 0063): the outlet's (`own`) or a foreign one."""

    currency: str
    own: bool = Field(description="the outlet's own currency")
    opening_float_minor: int
    sales_minor: int = Field(description="cash taken in this currency (foreign: the notes handed over)")
    refunds_minor: int = Field(description="cash refunds paid; always 0 for a foreign currency (paid in the outlet's)")
    in_minor: int
    out_minor: int
    change_given_minor: int = Field(description="own currency: change given for foreign cash; 0 for a foreign currency")
    expected_minor: int
    counted_minor: int | None = Field(default=None, description="left out on an X-report, or a currency not counted")
    over_short_minor: int | None = Field(default=None, description="counted - expected, when counted")
    converted: ZConverted | None = Field(default=None, description="a foreign over/short in the outlet's currency")
    converted_detail: str | None = Field(default=None, description="why a counted foreign over/short is not converted")


class ZReport(BaseModel):
    """A shift's Z-report (closed), or its X-report (open, for a manager: no count)."""

    shift_id: str
    outlet_id: str
    register_id: str
    currency: str
    opened_by: str
    opened_at: str
    closed_at: str | None
    sales: ZSales
    refunds: ZRefunds
    voids: ZVoids
    net_minor: int
    tenders: dict[str, ZTender] = Field(description="per tender kind (cash, card, foreign_cash)")
    tax: list[TaxBand]
    cash: ZCash
    foreign_cash: list[ZForeignCash]
    cash_by_currency: list[ZCurrencyCash] | None = Field(
        default=None, description="per currency, own first (ADR 0063); left out of reports closed before it"
    )


class EventHistory(BaseModel):
    """A page of sales' events regenerated from its tables (GET /api/sales/history)."""

    events: list[Envelope] = Field(description="envelopes as the live path publishes them, with stable event ids")
    next_after: str | None = Field(description="the cursor of the next page; null on the last one")
    total: int = Field(description="how many events the tables give in all")


def printable_200(model: type[BaseModel], description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 that is JSON (this model) by default, or the printed document (format=text/html)."""
    return {
        200: {
            "model": model,
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}}},
        }
    }
