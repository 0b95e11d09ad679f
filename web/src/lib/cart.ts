// The till's cart: plain data and pure functions (the component only holds the state).
// Shelf prices include tax (the sales service's default), so the cart total the cashier
// sees is what the server charges; the tax breakdown comes back on the receipt.

import type { components } from "./api-types/sales";

export interface ProductLike {
  id: string;
  sku: string;
  name: string;
  price_minor: number;
  currency: string;
  outlet_price_minor?: number | null;
  /** The outlet's own price's currency: the outlet's, which may not be the product's
   * (catalog's search and product card; the replica's `currency` already is it). */
  outlet_price_currency?: string | null;
  /** what the till needs to price the line itself when offline */
  tax_class?: string;
}

/** The price the till charges: the outlet's own price when the catalog gives one. */
export function unitPrice(product: ProductLike): number {
  return product.outlet_price_minor ?? product.price_minor;
}

/** The currency of `unitPrice`: the outlet's own price is in the outlet's currency. */
export function unitCurrency(product: ProductLike): string {
  return product.outlet_price_minor != null && product.outlet_price_currency ? product.outlet_price_currency : product.currency;
}

export interface CartLine {
  productId: string;
  sku: string;
  name: string;
  unitPriceMinor: number;
  currency: string;
  qty: number;
  /** The product's tax class (pricing offline); absent on carts saved by an older till. */
  taxClass?: string;
  /** A discount on this line (percent or amount), priced by the server's quote. */
  discount?: Discount | null;
}

export const MAX_LINE_QTY = 10_000; // the sales API's limit per line

export function addToCart(lines: readonly CartLine[], product: ProductLike, qty = 1): CartLine[] {
  const found = lines.find((l) => l.productId === product.id);
  if (found) {
    return lines.map((l) => (l === found ? { ...l, qty: Math.min(MAX_LINE_QTY, l.qty + qty) } : l));
  }
  return [
    ...lines,
    {
      productId: product.id,
      sku: product.sku,
      name: product.name,
      unitPriceMinor: unitPrice(product),
      currency: unitCurrency(product),
      ...(product.tax_class ? { taxClass: product.tax_class } : {}),
      qty: Math.min(MAX_LINE_QTY, Math.max(1, qty)),
    },
  ];
}

/** Set a line's quantity; 0 or less removes the line, more than the API allows is capped. */
export function setQty(lines: readonly CartLine[], productId: string, qty: number): CartLine[] {
  if (!Number.isFinite(qty)) return [...lines];
  const whole = Math.floor(qty);
  if (whole <= 0) return removeLine(lines, productId);
  return lines.map((l) => (l.productId === productId ? { ...l, qty: Math.min(MAX_LINE_QTY, whole) } : l));
}

export function removeLine(lines: readonly CartLine[], productId: string): CartLine[] {
  return lines.filter((l) => l.productId !== productId);
}

export function lineTotal(line: CartLine): number {
  return line.unitPriceMinor * line.qty;
}

export interface CartTotals {
  lines: number;
  items: number;
  totalMinor: number;
  currency: string | null;
}

export function cartTotals(lines: readonly CartLine[]): CartTotals {
  return {
    lines: lines.length,
    items: lines.reduce((n, l) => n + l.qty, 0),
    totalMinor: lines.reduce((n, l) => n + lineTotal(l), 0),
    currency: lines[0]?.currency ?? null,
  };
}

export interface StockWarning {
  available: number;
  short: number; // how many more than available the line asks for
}

/** A warning when the line asks for more than is available (unknown stock: no warning). */
export function stockWarning(line: CartLine, available: number | undefined | null): StockWarning | null {
  if (available === undefined || available === null) return null;
  if (line.qty <= available) return null;
  return { available: Math.max(0, available), short: line.qty - Math.max(0, available) };
}

export interface Change {
  changeMinor: number; // what the cashier hands back
  stillDueMinor: number; // what the customer still has to give
}

export function changeDue(totalMinor: number, tenderedMinor: number | null): Change {
  const given = tenderedMinor ?? 0;
  return { changeMinor: Math.max(0, given - totalMinor), stillDueMinor: Math.max(0, totalMinor - given) };
}

export type TenderKind = "cash" | "card" | "foreign_cash";

// --- discounts ---------------------------------------------------------------------------

/** The API's discount: percent in basis points (1000 = 10 %), amount in minor units. */
export interface Discount {
  kind: "percent" | "amount";
  value: number;
  reason: string;
}

export const MAX_PERCENT_BP = 10_000;

/**
 * What a cashier typed for a discount -> the API's value, or a sentence saying what is
 * wrong. Percent: "10", "12.5", "7,5" (at most two decimals, at most 100). Amount: money.
 */
export function parseDiscount(
  kind: Discount["kind"],
  text: string,
  reason: string,
  currency: string,
  parseMoney: (text: string, currency: string) => number | null,
): { discount: Discount } | { problem: string } {
  const why = reason.trim();
  if (!why) return { problem: "Give a reason for the discount (e.g. damaged, loyalty, staff)." };
  if (why.length > 100) return { problem: "Keep the reason under 100 characters." };
  const t = text.trim().replace(/\s*%$/, "").replace(",", ".");
  if (kind === "percent") {
    const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(t);
    if (!m) return { problem: `“${text}” is not a percentage. Type a number like 10 or 12.5.` };
    const bp = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
    if (bp <= 0) return { problem: "A discount must be more than 0 %." };
    if (bp > MAX_PERCENT_BP) return { problem: "A discount cannot be more than 100 %." };
    return { discount: { kind, value: bp, reason: why } };
  }
  const minor = parseMoney(text, currency);
  if (minor === null) return { problem: `“${text}” is not an amount. Type it like 2 or 1.50.` };
  if (minor <= 0) return { problem: "A discount must be more than zero." };
  return { discount: { kind, value: minor, reason: why } };
}

/** "10 %" or "€1.50", for the cart and the dialogs. */
export function describeDiscount(discount: Discount, money: (minor: number) => string): string {
  if (discount.kind === "percent") {
    const whole = Math.floor(discount.value / 100);
    const frac = discount.value % 100;
    return `${frac ? `${whole}.${String(frac).padStart(2, "0").replace(/0$/, "")}` : whole} %`;
  }
  return money(discount.value);
}

// --- request bodies ------------------------------------------------------------------------

export interface BodyLine {
  product_id: string;
  qty: number;
  discount?: Discount;
}

/** The API's cart (quote, park): lines with their discounts, the cart discount. */
export interface CartBody {
  outlet_id: string;
  register_id?: string;
  lines: BodyLine[];
  discount?: Discount;
}

export interface CartOptions {
  registerId?: string | null;
  discount?: Discount | null;
  /** the signed tax of the quote the till showed (outlets taxed by an external API) */
  taxQuote?: string | null;
}

function bodyLines(lines: readonly CartLine[]): BodyLine[] {
  return lines.map((l) => (l.discount ? { product_id: l.productId, qty: l.qty, discount: { ...l.discount } } : { product_id: l.productId, qty: l.qty }));
}

/** POST /api/sales/quote and the core of a park: no empty fields (the API is strict). */
export function cartBody(outletId: string, lines: readonly CartLine[], options: CartOptions = {}): CartBody {
  const body: CartBody = { outlet_id: outletId, lines: bodyLines(lines) };
  if (options.registerId) body.register_id = options.registerId;
  if (options.discount) body.discount = { ...options.discount };
  return body;
}

export interface TenderBody {
  kind: TenderKind;
  amount_minor: number;
  card_token?: string;
  /** card: the card reader's reference of the payment taken on it (ADR 0073), instead of card_token */
  reader_ref?: string;
  /** foreign_cash: the currency handed over (amount_minor is in its minor units) */
  currency?: string;
  /** foreign_cash: the rate the dialog showed; the server refuses (409) if its own differs */
  quoted_rate?: string;
}

export interface SaleBody extends CartBody {
  id: string;
  tenders: TenderBody[];
  approved_by?: string;
  tax_quote?: string;
}

/** The POST /api/sales body. Cash: amount_minor is what was handed over. */
export function saleBody(id: string, outletId: string, lines: readonly CartLine[], tenders: readonly TenderBody[], options: CartOptions = {}): SaleBody {
  const body: SaleBody = { id, ...cartBody(outletId, lines, options), tenders: tenders.map((t) => ({ ...t })) };
  // The sale charges exactly the tax the quote showed (or is refused: 409 tax_quote_stale).
  if (options.taxQuote) body.tax_quote = options.taxQuote;
  return body;
}

/** One tender of a kind (the whole of a cash or card payment). */
export function singleTender(kind: TenderKind, amountMinor: number, cardToken?: string | null): TenderBody[] {
  return [kind === "card" && cardToken ? { kind, amount_minor: amountMinor, card_token: cardToken } : { kind, amount_minor: amountMinor }];
}

// --- the server's price of the cart ------------------------------------------------------

export type QuoteLine = components["schemas"]["ReceiptLine"];

/** POST /api/sales/quote: what the sale would cost, and which discounts need a manager. */
export type Quote = components["schemas"]["Quote"];

/** A key that changes whenever the priced cart would (lines, quantities, discounts). */
export function cartKey(lines: readonly CartLine[], discount: Discount | null | undefined): string {
  return JSON.stringify([bodyLines(lines), discount ?? null]);
}

/** Cart lines back from a parked cart, with names and prices from its quote. */
export function linesFromQuote(cart: { lines: BodyLine[] }, quote: Quote): CartLine[] {
  return cart.lines.map((line, i) => {
    const priced = quote.lines.find((q) => q.line_no === i + 1) ?? quote.lines.find((q) => q.product_id === line.product_id);
    return {
      productId: line.product_id,
      sku: priced?.sku ?? "",
      name: priced?.name ?? `product ${line.product_id}`,
      unitPriceMinor: priced?.unit_price_minor ?? 0,
      currency: quote.currency,
      qty: line.qty,
      discount: line.discount ? { kind: line.discount.kind, value: line.discount.value, reason: line.discount.reason ?? "" } : null,
    };
  });
}

export interface ShortLine {
  product_id: string;
  requested: number;
  available: number;
}

/** The 409 'not enough stock' answer, with product names from the cart instead of ids. */
export function describeShortStock(short: readonly ShortLine[], lines: readonly CartLine[]): string[] {
  return short.map((s) => {
    const name = lines.find((l) => l.productId === s.product_id)?.name ?? `product ${s.product_id}`;
    const available = Math.max(0, s.available);
    return available === 0
      ? `${name}: none in stock (you asked for ${s.requested})`
      : `${name}: only ${available} in stock (you asked for ${s.requested})`;
  });
}
