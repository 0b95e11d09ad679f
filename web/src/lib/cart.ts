// The till's cart: plain data and pure functions (the component only holds the state).
// Shelf prices include tax (the sales service's default), so the cart total the cashier
// sees is what the server charges; the tax breakdown comes back on the receipt.

export interface ProductLike {
  id: string;
  sku: string;
  name: string;
  price_minor: number;
  currency: string;
  outlet_price_minor?: number | null;
}

/** The price the till charges: the outlet's own price when the catalog gives one. */
export function unitPrice(product: ProductLike): number {
  return product.outlet_price_minor ?? product.price_minor;
}

export interface CartLine {
  productId: string;
  sku: string;
  name: string;
  unitPriceMinor: number;
  currency: string;
  qty: number;
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
      currency: product.currency,
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

export type TenderKind = "cash" | "card";

export interface SaleBody {
  id: string;
  outlet_id: string;
  lines: { product_id: string; qty: number }[];
  tenders: { kind: TenderKind; amount_minor: number }[];
}

/** The POST /api/sales body. Cash: amount_minor is what was handed over. */
export function saleBody(id: string, outletId: string, lines: readonly CartLine[], kind: TenderKind, amountMinor: number): SaleBody {
  return {
    id,
    outlet_id: outletId,
    lines: lines.map((l) => ({ product_id: l.productId, qty: l.qty })),
    tenders: [{ kind, amount_minor: amountMinor }],
  };
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
