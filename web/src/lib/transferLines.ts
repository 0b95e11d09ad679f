// Transfers between outlets: what a planned transfer may hold, and what a receipt
// records (received in good condition + damaged <= sent; the rest is missing).
import type { components } from "./api-types/inventory";

export type TransferStatus = Transfer["status"];

export type TransferLine = components["schemas"]["TransferLineOut"];

export type Transfer = components["schemas"]["TransferOut"];

/** A line being planned: the quantity as typed, and what the source has available. */
export interface DraftLine {
  product_id: string;
  name: string;
  qty: string;
  available: number | null; // null: not known (yet)
}

const WHOLE = /^\d+$/;
export const MAX_LINE_QTY = 100_000;

function whole(text: string): number | null {
  const t = text.trim();
  return WHOLE.test(t) ? Number(t) : null;
}

/** Problems with a planned transfer, in words a manager can act on (empty: fine to create). */
export function draftProblems(fromId: string, toId: string, lines: readonly DraftLine[]): string[] {
  const found: string[] = [];
  if (!fromId) found.push("From: pick the outlet the goods leave.");
  if (!toId) found.push("To: pick the outlet that receives them.");
  if (fromId && fromId === toId) found.push("From and To are the same outlet: pick two different outlets.");
  if (!lines.length) found.push("Add at least one product: search for it above.");
  for (const line of lines) {
    const qty = whole(line.qty);
    if (qty === null || qty < 1 || qty > MAX_LINE_QTY) found.push(`Quantity of ${line.name}: type a whole number from 1 to ${MAX_LINE_QTY}.`);
    else if (line.available !== null && qty > line.available)
      found.push(`${line.name}: only ${line.available} available at the source, ${qty} asked. Lower it, or receive goods first.`);
  }
  return found;
}

/** The POST /api/inventory/transfers body (call only when draftProblems is empty). */
export function draftBody(fromId: string, toId: string, lines: readonly DraftLine[], note: string) {
  return {
    from_outlet_id: fromId,
    to_outlet_id: toId,
    note: note.trim() || null,
    lines: lines.map((l) => ({ product_id: l.product_id, qty: Number(l.qty.trim()) })),
  };
}

export function units(lines: readonly { qty: number }[]): number {
  return lines.reduce((n, l) => n + l.qty, 0);
}

/** What arrived of one line, as typed at the destination. */
export interface ReceiptEntry {
  received: string;
  damaged: string;
}

export interface ReceiptCheck {
  problems: string[];
  /** Per product: missing = sent - received - damaged (null where the entry is not valid). */
  missing: Record<string, number | null>;
  /** The POST .../receive body: only lines that differ from "arrived in full". */
  body: { lines: { product_id: string; received: number; damaged: number }[] };
}

/** Check what the destination typed against what was sent. */
export function checkReceipt(lines: readonly TransferLine[], entries: Record<string, ReceiptEntry>): ReceiptCheck {
  const problems: string[] = [];
  const missing: Record<string, number | null> = {};
  const body: ReceiptCheck["body"] = { lines: [] };
  for (const line of lines) {
    const entry = entries[line.product_id] ?? { received: String(line.qty), damaged: "0" };
    const name = line.name ?? line.product_id;
    const received = whole(entry.received);
    const damaged = entry.damaged.trim() === "" ? 0 : whole(entry.damaged);
    if (received === null || damaged === null) {
      problems.push(`${name}: received and damaged are whole numbers, 0 or more.`);
      missing[line.product_id] = null;
      continue;
    }
    if (received + damaged > line.qty) {
      problems.push(`${name}: ${received} received + ${damaged} damaged is more than the ${line.qty} sent.`);
      missing[line.product_id] = null;
      continue;
    }
    missing[line.product_id] = line.qty - received - damaged;
    if (received !== line.qty || damaged !== 0) body.lines.push({ product_id: line.product_id, received, damaged });
  }
  return { problems, missing, body };
}

export const STATUS_TEXT: Record<TransferStatus, string> = {
  created: "planned",
  sent: "in transit",
  received: "received",
  cancelled: "cancelled",
};
