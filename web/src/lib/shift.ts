// Register shifts: the shapes of the API's answers and the cash arithmetic the screen
// shows (pure functions, vitest). The screen is till/Shift.svelte.

import { ApiError, describeError } from "./errors";
import { formatMoney } from "./money";
import type { components } from "./api-types/sales";

/** `GET /api/sales/shifts/current` and friends. The expected cash is never in it while open. */
export type Shift = components["schemas"]["Shift"];

export type CashMovement = components["schemas"]["CashMovement"];

export type ZCash = components["schemas"]["ZCash"];

/** What the drawer should hold in a foreign currency (issue 16). */
export type ZForeignCash = components["schemas"]["ZForeignCash"];

/** The Z-report (closed shift) or X-report (a manager's look at an open one). */
export type ZReport = components["schemas"]["ZReport"];

/** What the drawer should hold: float + cash taken - cash refunded + cash in - cash out. */
export function expectedCash(cash: Omit<ZCash, "expected_minor">): number {
  return cash.opening_float_minor + cash.sales_minor - cash.refunds_minor + cash.in_minor - cash.out_minor - (cash.foreign_change_minor ?? 0);
}

/** Counted minus expected: positive = over, negative = short. */
export function overShort(countedMinor: number, expectedMinor: number): number {
  return countedMinor - expectedMinor;
}

/** "Over by €1.00", "Short by €2.50" or "Exact", for the Z-report's last line. */
/** One word for a list: "Over", "Short" or "Balanced". */
export function overShortWord(overShortMinor: number): string {
  return overShortMinor > 0 ? "Over" : overShortMinor < 0 ? "Short" : "Balanced";
}

export function overShortText(overShortMinor: number, currency: string): string {
  if (overShortMinor === 0) return "Exact: the drawer matches";
  const amount = formatMoney(Math.abs(overShortMinor), currency);
  return overShortMinor > 0 ? `Over by ${amount}` : `Short by ${amount}`;
}

/** The cash lines of the report, in order, with signs as they add up to the expected cash. */
export function cashRows(cash: ZCash): { label: string; minor: number; key: string }[] {
  return [
    { key: "float", label: "Opening float", minor: cash.opening_float_minor },
    { key: "sales", label: "Cash sales", minor: cash.sales_minor },
    { key: "refunds", label: "Cash refunds", minor: -cash.refunds_minor },
    { key: "in", label: "Cash in", minor: cash.in_minor },
    { key: "out", label: "Cash out", minor: -cash.out_minor },
    ...(cash.foreign_change_minor ? [{ key: "foreign-change", label: "Change for foreign cash", minor: -cash.foreign_change_minor }] : []),
  ];
}

/** A tender kind in words. */
export function tenderName(kind: string): string {
  if (kind === "foreign_cash") return "Foreign cash";
  return kind === "cash" ? "Cash" : kind === "card" ? "Card" : kind.charAt(0).toUpperCase() + kind.slice(1);
}

/** A shift action refused, in words. */
export function describeShiftError(error: unknown, action: string): string {
  if (error instanceof ApiError) {
    const said = error.detail.trim().replace(/\.$/, "");
    if (error.status === 409) return `The shift could not ${action}: ${said}. Reload the shift to see its state.`;
    if (error.status === 404) return `That shift was not found (${said}). Reload the shift to see this register's state.`;
  }
  return describeError(error, action);
}
