// The dashboard's outlet panels: each outlet against the period just before (which one
// is slipping), and the stock on hand valued at cost.

import { formatMoney } from "./money";
import { inCurrency } from "./reports";
import type { OutletRow, ValuationRow } from "./types";

/** up / down / flat: against the previous period; new: nothing was sold in it. */
export type Trend = "up" | "down" | "flat" | "new";

export interface Change {
  text: string;
  trend: Trend;
}

/**
 * A change in basis points as people read it, to one decimal rounded half up:
 * 1250 -> "+12.5 %", -300 -> "−3.0 %" (a real minus sign), null (nothing before) -> "new".
 * A change that rounds to 0.0 % is "flat", whatever its sign.
 */
export function describeChange(bp: number | null | undefined): Change {
  if (bp === null || bp === undefined || !Number.isFinite(bp)) return { text: "new", trend: "new" };
  const tenths = Math.floor((Math.abs(Math.round(bp)) + 5) / 10);
  if (tenths === 0) return { text: "0.0 %", trend: "flat" };
  const whole = Math.floor(tenths / 10).toLocaleString("en");
  return bp > 0 ? { text: `+${whole}.${tenths % 10} %`, trend: "up" } : { text: `\u2212${whole}.${tenths % 10} %`, trend: "down" };
}

/** The change in words, for whoever cannot tell the colours apart: "down from €90.00". */
export function comparedWith(trend: Trend, before: string): string {
  switch (trend) {
    case "up":
      return `up from ${before}`;
    case "down":
      return `down from ${before}`;
    case "flat":
      return `same as ${before}`;
    default:
      return "no sales before";
  }
}

/** The outlets in `currency`, best gross first (ties by name). */
export function compareOutlets(rows: readonly OutletRow[], currency: string): OutletRow[] {
  return inCurrency(rows, currency).sort((a, b) => b.gross_minor - a.gross_minor || a.name.localeCompare(b.name));
}

/** What a manager should know behind an outlet's stock value. */
export function stockNotes(row: Pick<ValuationRow, "negative_products" | "uncosted_products" | "currency">): string[] {
  const notes: string[] = [];
  if (row.negative_products > 0) notes.push(`${row.negative_products} oversold, counted at zero`);
  if (row.uncosted_products > 0) notes.push(`${row.uncosted_products} without a cost price`);
  if (!row.currency) notes.push("currency not known yet");
  return notes;
}

/** A stock value in its own currency; "" (products the catalog has not announced yet) has none. */
export function stockValueText(minor: number, currency: string): string {
  return currency ? formatMoney(minor, currency) : "—";
}
