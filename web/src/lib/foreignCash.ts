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
import type { TenderBody } from "./cart";
import { roundToIncrement } from "./pricing";

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

/** What a part payment in foreign cash leaves, taken in the outlet's cash. */
export interface CashRest {
  /** what the foreign cash leaves of the total (what a card would be charged) */
  restMinor: number;
  /** the rest as cash: rounded to the outlet's cash increment, half up (sales' settle) */
  dueMinor: number;
  /** dueMinor - restMinor: what the cash rounding adds (negative: takes off) */
  roundingMinor: number;
  /** the outlet cash handed over covers dueMinor */
  enough: boolean;
  /** given back in the outlet's currency (0 until enough is handed over) */
  changeMinor: number;
}

/**
 * The rest of `totalMinor` after a part payment in foreign cash (`part`, not settled),
 * paid in the outlet's cash, as the server settles foreign cash + cash in one sale
 * (services/sales domain.settle: the foreign cash pays what it covers, then cash pays
 * the rest rounded to the cash increment, change in the outlet's currency). The pay
 * dialog shows it online and offline; the offline sale is settled with it.
 */
export function restInCash(totalMinor: number, part: ForeignPart, cashRoundingMinor: number, cashHandedMinor: number | null): CashRest {
  const restMinor = part.settled ? 0 : Math.max(0, totalMinor - part.creditMinor);
  const dueMinor = roundToIncrement(restMinor, cashRoundingMinor);
  const enough = dueMinor > 0 && cashHandedMinor !== null && cashHandedMinor >= dueMinor;
  return { restMinor, dueMinor, roundingMinor: dueMinor - restMinor, enough, changeMinor: enough ? (cashHandedMinor as number) - dueMinor : 0 };
}

/** A foreign-cash sale's tenders as POST /api/sales takes them (the offline till keeps
 * the same): the foreign cash handed over with the rate shown; when it does not cover the
 * total, the rest in the outlet's cash (the cash handed over: the server rounds and gives
 * change) or, online, by card (exactly the rest). A `problem` says what is missing. */
export function foreignSaleTenders(args: {
  totalMinor: number;
  /** the foreign currency handed over, its amount (minor units) and the rate shown */
  code: string;
  foreignMinor: number;
  rate: string;
  part: ForeignPart;
  /** the outlet's cash handed over for the rest (null: none typed) */
  restCashMinor: number | null;
  cashRoundingMinor: number;
  /** the rest by card (online only) instead of cash */
  restByCard: boolean;
  offline: boolean;
  cardToken: string | null;
  /** outlet-currency amounts as the dialog shows them */
  money: (minor: number) => string;
  outletCurrency: string;
}): { tenders: TenderBody[]; problem?: undefined } | { tenders?: undefined; problem: string } {
  const foreign: TenderBody = { kind: "foreign_cash", currency: args.code, amount_minor: args.foreignMinor, quoted_rate: args.rate };
  if (args.part.settled) return { tenders: [foreign] };
  const rest = restInCash(args.totalMinor, args.part, args.cashRoundingMinor, args.restCashMinor);
  if (args.restByCard && !args.offline) {
    const card: TenderBody = args.cardToken ? { kind: "card", amount_minor: rest.restMinor, card_token: args.cardToken } : { kind: "card", amount_minor: rest.restMinor };
    return { tenders: [foreign, card] };
  }
  if (!rest.enough || args.restCashMinor === null) {
    const orCard = args.offline ? "" : `, or charge the rest (${args.money(rest.restMinor)}) to the card`;
    return { problem: `The ${args.code} leaves ${args.money(rest.dueMinor)} to pay: type the ${args.outletCurrency} cash received for it${orCard}.` };
  }
  return { tenders: [foreign, { kind: "cash", amount_minor: args.restCashMinor }] };
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
