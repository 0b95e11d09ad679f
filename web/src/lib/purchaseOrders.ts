// Purchase orders (inventory, ADR 0071): what a manager types into a draft (whole
// quantities, decimal costs) and into a receipt (what arrived now, at most what is still
// to come), checked before anything is sent, with messages a person can act on.

import type { components } from "./api-types/inventory";
import { parseMoney, toDecimalString } from "./money";

export type PurchaseOrder = components["schemas"]["PurchaseOrderOut"];
export type OrderLine = components["schemas"]["OrderLineOut"];
export type Supplier = components["schemas"]["SupplierOut"];
export type OrderStatus = "draft" | "sent" | "partially_received" | "received" | "cancelled";

export const MAX_LINE_QTY = 100_000;

export const STATUS_TEXT: Record<OrderStatus, string> = {
  draft: "draft",
  sent: "sent",
  partially_received: "partly received",
  received: "received",
  cancelled: "cancelled",
};

export function statusText(status: string): string {
  return STATUS_TEXT[status as OrderStatus] ?? status;
}

const WHOLE = /^\d+$/;

function whole(text: string): number | null {
  const t = text.trim();
  return WHOLE.test(t) ? Number(t) : null;
}

/** A draft line as typed: quantity and unit cost (a decimal in the order's currency). */
export interface DraftEntry {
  qty: string;
  cost: string;
}

export function draftEntries(order: PurchaseOrder): Record<string, DraftEntry> {
  return Object.fromEntries(
    order.lines.map((l) => [l.product_id, { qty: String(l.qty), cost: toDecimalString(l.unit_cost_minor, order.currency) }]),
  );
}

export interface DraftCheck {
  problems: string[];
  /** Per product: qty x cost in minor units (null where the entry is not valid). */
  totals: Record<string, number | null>;
  /** The PUT .../lines body (lines with quantity 0 are dropped from the order). */
  body: { lines: { product_id: string; qty: number; unit_cost_minor: number }[] };
}

/** Check a draft's typed quantities and costs. A quantity of 0 takes the line off. */
export function checkDraft(order: PurchaseOrder, entries: Record<string, DraftEntry>): DraftCheck {
  const problems: string[] = [];
  const totals: Record<string, number | null> = {};
  const body: DraftCheck["body"] = { lines: [] };
  for (const line of order.lines) {
    const entry = entries[line.product_id] ?? { qty: String(line.qty), cost: toDecimalString(line.unit_cost_minor, order.currency) };
    const name = line.name ?? "a product";
    const qty = whole(entry.qty);
    const cost = entry.cost.trim() === "" ? 0 : parseMoney(entry.cost, order.currency);
    totals[line.product_id] = null;
    if (qty === null || qty > MAX_LINE_QTY) {
      problems.push(`Quantity of ${name}: type a whole number from 0 to ${MAX_LINE_QTY} (0 takes it off the order).`);
      continue;
    }
    if (cost === null) {
      problems.push(`Unit cost of ${name}: type an amount such as 12.50 (or leave it empty if not known).`);
      continue;
    }
    totals[line.product_id] = qty * cost;
    if (qty > 0) body.lines.push({ product_id: line.product_id, qty, unit_cost_minor: cost });
  }
  if (!problems.length && !body.lines.length) problems.push("Every quantity is 0: keep at least one line, or cancel the order.");
  return { problems, totals, body };
}

/** What arrived now per product, as typed (default: everything still to come). */
export function receiptEntries(order: PurchaseOrder): Record<string, string> {
  return Object.fromEntries(order.lines.map((l) => [l.product_id, String(l.outstanding)]));
}

export interface ReceiptCheck {
  problems: string[];
  units: number;
  /** The POST .../receive body: lines with something that arrived. */
  body: { lines: { product_id: string; qty: number }[] };
}

/** Check a receipt against what is still to come (over-receipt is refused: ADR 0071). */
export function checkOrderReceipt(order: PurchaseOrder, entries: Record<string, string>): ReceiptCheck {
  const problems: string[] = [];
  const body: ReceiptCheck["body"] = { lines: [] };
  let units = 0;
  for (const line of order.lines) {
    const text = entries[line.product_id] ?? "0";
    const name = line.name ?? "a product";
    const qty = text.trim() === "" ? 0 : whole(text);
    if (qty === null) {
      problems.push(`${name}: type the whole number that arrived, 0 or more.`);
      continue;
    }
    if (qty > line.outstanding) {
      problems.push(
        `${name}: ${qty} arrived but only ${line.outstanding} of the ${line.qty} ordered are still to come. Record ${line.outstanding} here and the extra as a goods receipt under Stock.`,
      );
      continue;
    }
    if (qty > 0) {
      body.lines.push({ product_id: line.product_id, qty });
      units += qty;
    }
  }
  if (!problems.length && !body.lines.length) problems.push("Nothing arrived: type the quantity of at least one product.");
  return { problems, units, body };
}

export function units(lines: readonly { qty: number }[]): number {
  return lines.reduce((n, l) => n + l.qty, 0);
}
