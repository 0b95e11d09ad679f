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

/** The drawer in one currency (ADR 0063): the outlet's (`own`) or a foreign one. */
export type ZCurrencyCash = components["schemas"]["ZCurrencyCash"];

/** A foreign over/short converted to the outlet's currency at a stated rate. */
export type ZConverted = components["schemas"]["ZConverted"];

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

/** The rows of the per-currency drawer table, in order (figures as they add up to the expected cash). */
export const currencyRows: { key: string; label: string; sign: 1 | -1; pick: (c: ZCurrencyCash) => number }[] = [
  { key: "float", label: "Opening float", sign: 1, pick: (c) => c.opening_float_minor },
  { key: "sales", label: "Cash sales", sign: 1, pick: (c) => c.sales_minor },
  { key: "refunds", label: "Refunds paid", sign: -1, pick: (c) => c.refunds_minor },
  { key: "in", label: "Cash in", sign: 1, pick: (c) => c.in_minor },
  { key: "out", label: "Cash out", sign: -1, pick: (c) => c.out_minor },
  { key: "change", label: "Change given", sign: -1, pick: (c) => c.change_given_minor },
];

/** Expected in one currency: float + sales - refunds + in - out - change given. */
export function expectedInCurrency(c: Omit<ZCurrencyCash, "expected_minor">): number {
  return c.opening_float_minor + c.sales_minor - c.refunds_minor + c.in_minor - c.out_minor - c.change_given_minor;
}

/** How a converted over/short is labelled: the rate, where it came from and its date. */
export function convertedLabel(foreign: string, converted: ZConverted): string {
  const basis = converted.rate_basis === "sale" ? `the rate of the shift's last ${foreign} sale` : "payments' rate at the close";
  const source = [converted.rate_source, converted.rate_as_of].filter(Boolean).join(", ");
  return `converted at 1 ${converted.currency} = ${converted.rate} ${foreign} (${basis}${source ? `: ${source}` : ""})`;
}
