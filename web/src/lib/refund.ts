// Refunds of past sales: what each line can still give back, the request body, and the
// refusals in words. Pure functions (vitest); the screen is till/Refund.svelte.

import { ApiError, describeError } from "./errors";
import { formatMoney } from "./money";
import type { components } from "./api-types/sales";

/** A line of `GET /api/sales/{id}` for a completed sale (its receipt plus `refunded_qty`). */
export interface SaleLine {
  line_no: number;
  product_id: string;
  sku?: string;
  name: string;
  qty: number;
  unit_price_minor: number;
  total_minor: number;
  tax_minor: number;
  refunded_qty?: number;
}

/** `GET /api/sales/{id}`: the stored receipt with status and what was refunded so far. */
export interface SaleDetail {
  sale_id: string;
  receipt_number: string | null;
  outlet_id: string;
  status: string;
  currency: string;
  lines: SaleLine[];
  total_minor: number;
  tenders: { kind: string; amount_minor: number; tendered_minor?: number }[];
  completed_at?: string | null;
  cashier_name?: string;
  refunded_minor: number;
  refunds: { refund_id: string; status: string; total_minor: number }[];
}

/** What the cashier chose for one line. */
export interface LineChoice {
  qty: number;
  restock: boolean;
}

export type Destination = "original" | "cash";

/** A line as the refund screen shows it. */
export interface RefundableLine {
  lineNo: number;
  name: string;
  sold: number;
  refunded: number;
  left: number;
  unitPriceMinor: number;
}

export interface RefundRequest {
  id: string;
  reason: string;
  lines: { line_no: number; qty: number; restock: boolean }[];
  destination: Destination;
  register_id?: string;
  approved_by?: string;
}

/** The refund slip: the 201 answer of `POST /api/sales/{sale_id}/refunds`. */
export type RefundSlip = components["schemas"]["RefundSlip"];

export function refundableLines(sale: Pick<SaleDetail, "lines">): RefundableLine[] {
  return sale.lines.map((line) => {
    const refunded = Math.min(line.qty, Math.max(0, line.refunded_qty ?? 0));
    return {
      lineNo: line.line_no,
      name: line.name,
      sold: line.qty,
      refunded,
      left: line.qty - refunded,
      unitPriceMinor: line.unit_price_minor,
    };
  });
}

/** Anything left to refund on the sale at all? */
export function anythingLeft(lines: RefundableLine[]): boolean {
  return lines.some((l) => l.left > 0);
}

/** A typed quantity held to 0..left (whole units). */
export function clampQty(value: number, left: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(Math.max(0, Math.trunc(value)), Math.max(0, left));
}

function divHalfUp(numerator: number, denominator: number): number {
  // Non-negative integers only: half up is floor((2n + d) / 2d).
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

/**
 * The money for `qty` more units of a line of which `refundedBefore` were already
 * refunded: the line's total shared cumulatively, as the sales service does, so every
 * unit refunded in any number of pieces adds up to exactly the line's total. Shown as an
 * estimate before sending (the slip has the real figures, cash rounding included).
 */
export function lineRefundMinor(lineTotalMinor: number, lineQty: number, refundedBefore: number, qty: number): number {
  if (qty <= 0 || lineQty <= 0) return 0;
  const after = Math.min(lineQty, refundedBefore + qty);
  return divHalfUp(lineTotalMinor * after, lineQty) - divHalfUp(lineTotalMinor * refundedBefore, lineQty);
}

/** The estimated total of the chosen lines. */
export function estimateRefundMinor(sale: Pick<SaleDetail, "lines">, choices: Record<number, LineChoice>): number {
  let total = 0;
  for (const line of sale.lines) {
    const choice = choices[line.line_no];
    if (!choice || choice.qty <= 0) continue;
    total += lineRefundMinor(line.total_minor, line.qty, line.refunded_qty ?? 0, choice.qty);
  }
  return total;
}

/** Why the chosen refund cannot be sent yet, or "" when it can. */
export function refundProblem(lines: RefundableLine[], choices: Record<number, LineChoice>, reason: string): string {
  const chosen = lines.filter((l) => (choices[l.lineNo]?.qty ?? 0) > 0);
  if (!chosen.length) return "Choose how many of which item to refund.";
  const over = chosen.find((l) => (choices[l.lineNo]?.qty ?? 0) > l.left);
  if (over) return `Only ${over.left} of ${over.name} can still be refunded.`;
  if (!reason.trim()) return "Give a reason for the refund.";
  return "";
}

/** The body of `POST /api/sales/{sale_id}/refunds`: only lines with a quantity. */
export function refundBody(
  id: string,
  choices: Record<number, LineChoice>,
  options: { reason: string; destination: Destination; registerId?: string | null; approvalToken?: string | null },
): RefundRequest {
  const lines = Object.entries(choices)
    .map(([lineNo, c]) => ({ line_no: Number(lineNo), qty: Math.trunc(c.qty), restock: c.restock }))
    .filter((l) => l.qty > 0)
    .sort((a, b) => a.line_no - b.line_no);
  const body: RefundRequest = { id, reason: options.reason.trim(), lines, destination: options.destination };
  if (options.registerId) body.register_id = options.registerId;
  if (options.approvalToken) body.approved_by = options.approvalToken;
  return body;
}

/** Cash handed back over the counter, from a slip's tenders. */
export function cashBackMinor(slip: Pick<RefundSlip, "tenders">): number {
  return slip.tenders.filter((t) => t.kind === "cash").reduce((sum, t) => sum + t.amount_minor, 0);
}

/** The big line of the slip screen: what the cashier does now. */
export function giveBackText(slip: Pick<RefundSlip, "tenders" | "currency" | "total_minor">): string {
  const parts = slip.tenders.map((t) => {
    const amount = formatMoney(t.amount_minor, slip.currency);
    if (t.kind === "cash") return `Give back ${amount} in cash`;
    if (t.kind === "card") return `${amount} goes back to the card`;
    return `${amount} back as ${t.kind}`;
  });
  if (!parts.length) return `Nothing to give back (${formatMoney(slip.total_minor, slip.currency)})`;
  return parts.join(" · ");
}

/** No definite answer: the same refund (same id) may and should be sent again. */
export function mayResend(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 0) return true;
  if (error.status === 503) return !isPending(error);
  return error.status >= 500;
}

/** 503 with status PENDING: the refund is under way, it will be finished by the service. */
export function isPending(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 503) return false;
  const body = error.body as { status?: unknown } | null;
  return !!body && typeof body === "object" && body.status === "PENDING";
}

/** A refused refund in words: what happened and what to do now. */
export function describeRefundError(error: unknown): string {
  if (!(error instanceof ApiError)) return describeError(error, "refund");
  const said = error.detail.trim().replace(/\.$/, "");
  switch (error.status) {
    case 0:
      return "No answer from the server, so it is not known whether the refund went through. Check the network, then retry the same refund: it cannot be given twice.";
    case 403:
      return `A manager has to approve this refund (${said}). Ask a manager to enter their PIN, then send it again.`;
    case 404:
      return `The sale was not found (${said}). Check the receipt number.`;
    case 409:
      return `This sale cannot be refunded (${said}). Nothing was given back: check the sale and what was already refunded.`;
    case 422:
      return `The refund was refused: ${said}. Nothing was given back: lower the quantities (or correct the refund) and try again.`;
    case 503:
      return isPending(error)
        ? "The refund is in progress: its outcome is not known yet. Do not give anything back yet; check again in a minute (the service finishes it by itself)."
        : `The refund service is not available right now (${said}). Nothing was given back: try again in a moment.`;
    default:
      return describeError(error, "refund");
  }
}
