// Foreign cash at the till (issue 16, ADR 0061): what the pay dialog shows before the
// sale is posted. The server decides the rate and the amounts (the receipt is what
// counts); this mirrors pos_platform.conversion exactly, on BigInt fractions, so what
// the cashier tells the customer is what the server will settle:
// - the amount due in the foreign currency: to its smallest cash unit, ties to even;
// - change (in the outlet's currency) for what was handed over beyond the amount due,
//   converted back at the same rate, to the outlet currency's cash unit, ties to even;
// - less than the amount due: a part payment, credited at its value rounded down to a
//   minor unit; the rest is paid by another tender.
import type { components as Identity } from "./api-types/identity";

/** A currency as GET /api/identity/currencies lists it. */
export type CurrencyInfo = Pick<Identity["schemas"]["CurrencyOut"], "code" | "name" | "minor_units" | "cash_unit_minor">;

/** A rate as a fraction: "1.0812" -> 10812/10000. Null for anything but a plain positive decimal. */
export function parseRate(text: string): { num: bigint; den: bigint } | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const frac = m[2] ?? "";
  const num = BigInt(m[1] + frac);
  if (num === 0n) return null;
  return { num, den: 10n ** BigInt(frac.length) };
}

/** n / d (n >= 0, d > 0) to the nearest integer, ties to even. */
export function divHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r2 = 2n * (n % d);
  if (r2 < d) return q;
  if (r2 > d) return q + 1n;
  return q % 2n === 0n ? q : q + 1n;
}

export interface Pair {
  local: CurrencyInfo;
  foreign: CurrencyInfo;
  /** units of foreign per unit of local, as the server stamps it */
  rate: string;
}

function fraction(pair: Pair) {
  const r = parseRate(pair.rate);
  if (!r) throw new RangeError(`not a rate: ${pair.rate}`);
  return { r, le: 10n ** BigInt(pair.local.minor_units), fe: 10n ** BigInt(pair.foreign.minor_units) };
}

/** What `dueMinor` of the outlet's currency is in the foreign currency, to its cash unit. */
export function amountDueIn(dueMinor: number, pair: Pair): number {
  const { r, le, fe } = fraction(pair);
  const unit = BigInt(pair.foreign.cash_unit_minor);
  return Number(divHalfEven(BigInt(dueMinor) * r.num * fe, r.den * le * unit) * unit);
}

export interface ForeignPart {
  dueForeignMinor: number;
  /** what the foreign cash pays of `remainingMinor` (outlet currency) */
  creditMinor: number;
  /** given back in the outlet's currency */
  changeMinor: number;
  settled: boolean;
}

/** `tenderedForeignMinor` applied to `remainingMinor` (outlet currency), as the server does. */
export function foreignPart(remainingMinor: number, tenderedForeignMinor: number, pair: Pair): ForeignPart {
  const { r, le, fe } = fraction(pair);
  const due = amountDueIn(remainingMinor, pair);
  const handed = BigInt(tenderedForeignMinor);
  if (tenderedForeignMinor >= due) {
    const unit = BigInt(pair.local.cash_unit_minor);
    const excess = handed - BigInt(due);
    const change = divHalfEven(excess * r.den * le, r.num * fe * unit) * unit;
    return { dueForeignMinor: due, creditMinor: remainingMinor, changeMinor: Number(change), settled: true };
  }
  const credit = Number((handed * r.den * le) / (r.num * fe));
  return { dueForeignMinor: due, creditMinor: Math.max(0, Math.min(credit, remainingMinor - 1)), changeMinor: 0, settled: false };
}

/** Minor units as decimal text with the currency's ISO exponent: 5406, 2 -> "54.06". */
export function minorText(minor: number, digits: number): string {
  const sign = minor < 0 ? "-" : "";
  const abs = String(Math.abs(minor)).padStart(digits + 1, "0");
  return digits === 0 ? sign + abs : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/** Decimal text typed by the cashier to minor units ("60", "54.06"); null if it is not an amount. */
export function parseMinor(text: string, digits: number): number | null {
  const m = /^(\d{1,12})(?:[.,](\d*))?$/.exec(text.trim());
  if (!m) return null;
  const frac = m[2] ?? "";
  if (frac.length > digits) return null;
  return Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, "0") || "0");
}

/** A rate's age in words: "today", "1 day old", "3 days old". */
export function ageText(days: number | null | undefined): string {
  if (days === null || days === undefined) return "";
  return days === 0 ? "today's" : days === 1 ? "1 day old" : `${days} days old`;
}
