// A split payment in any number of parts (issue 17): card parts and cash parts whose
// amounts add up to the total. Pure integer arithmetic in minor units, mirroring the
// sales service's settle(): each card part is charged exactly its amount (in order, the
// first card first); the cash parts together are the cash share, which is rounded to the
// outlet's cash increment (halves up) like any cash tender, and paid by the cash handed
// over (one cash tender: the server adds cash tenders up anyway); only cash gives change.
// The pay dialog renders this; it decides nothing itself.

import type { TenderBody } from "./cart";
import { roundCash } from "./tender";

export type PartKind = "card" | "cash";

export const MIN_PARTS = 2;
export const MAX_PARTS = 10;

/** One part as the dialog holds it, after parsing what was typed. */
export interface PartIn {
  kind: PartKind;
  /** null: nothing typed, or not an amount (`invalid`) */
  amountMinor: number | null;
  /** something was typed that is not an amount */
  invalid?: boolean;
  /** sandbox test card for this part (null: the terminal decides) */
  cardToken?: string | null;
}

export interface SplitSummary {
  /** what the parts with a valid amount add up to */
  assignedMinor: number;
  /** total − assigned: > 0 still to assign to a part, < 0 the parts are over the total */
  remainingMinor: number;
  /** what the cards are charged, all card parts together */
  cardMinor: number;
  /** the cash parts together, before cash rounding */
  cashShareMinor: number;
  /** what the cash handed over must cover (the cash share rounded to the increment) */
  cashDueMinor: number;
  /** cashDue − cashShare (+ or −) */
  roundingMinor: number;
  hasCash: boolean;
  hasCard: boolean;
  /** still to hand over in cash (0 when enough was given) */
  stillToPayMinor: number;
  /** change from the cash handed over */
  changeMinor: number;
  /** per part: what is wrong with it ("" when nothing) */
  partProblems: string[];
  /** the first thing wrong, in words, or "" when the sale can be sent */
  problem: string;
  ready: boolean;
}

/** `n` amounts that add up to `totalMinor` exactly and differ by at most one minor unit;
 * the first ones get the extra units (1001 in 3: 334, 334, 333). */
export function evenAmounts(totalMinor: number, n: number): number[] {
  if (!Number.isSafeInteger(totalMinor) || totalMinor < 0) throw new RangeError(`not an amount in minor units: ${totalMinor}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`not a number of parts: ${n}`);
  const base = Math.floor(totalMinor / n);
  const extra = totalMinor % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The counts "Split evenly in N" offers: 2…MAX_PARTS, each part at least one minor unit. */
export function evenCounts(totalMinor: number): number[] {
  const counts: number[] = [];
  for (let n = MIN_PARTS; n <= MAX_PARTS && n <= totalMinor; n++) counts.push(n);
  return counts;
}

/** The kinds of `n` parts after "split evenly": the parts there keep their kind, new ones are cards. */
export function resizeKinds(kinds: readonly PartKind[], n: number): PartKind[] {
  return Array.from({ length: n }, (_, i) => kinds[i] ?? "card");
}

/**
 * Check a split and work out what it means: what is left to assign, the cash due after
 * rounding, the change, and the first problem in words (`money` formats minor units).
 */
export function summarizeSplit(
  totalMinor: number,
  parts: readonly PartIn[],
  cashGivenMinor: number | null,
  cashRoundingMinor: number,
  money: (minor: number) => string,
): SplitSummary {
  const partProblems = parts.map((p, i) => {
    if (p.invalid) return `Part ${i + 1} is not an amount: type it like 12.50.`;
    if (p.amountMinor === null) return `Type the amount of part ${i + 1}.`;
    if (p.amountMinor <= 0) return `Part ${i + 1} must be more than zero: remove it if it is not needed.`;
    return "";
  });
  const valid = parts.filter((_part, i) => partProblems[i] === "");
  const assigned = sum(valid.map((p) => p.amountMinor as number));
  const card = sum(valid.filter((p) => p.kind === "card").map((p) => p.amountMinor as number));
  const cashShare = sum(valid.filter((p) => p.kind === "cash").map((p) => p.amountMinor as number));
  const hasCash = parts.some((p) => p.kind === "cash");
  const hasCard = parts.some((p) => p.kind === "card");
  const cashDue = hasCash ? roundCash(cashShare, cashRoundingMinor) : 0;
  const given = cashGivenMinor ?? 0;
  const remaining = totalMinor - assigned;

  let problem = "";
  if (parts.length < MIN_PARTS) problem = "A split needs at least two parts: for one, pay by card or cash.";
  else if (partProblems.some((p) => p)) problem = partProblems.find((p) => p) as string;
  else if (remaining > 0) problem = `The parts add up to ${money(assigned)}: ${money(remaining)} of the ${money(totalMinor)} is in no part yet.`;
  else if (remaining < 0) problem = `The parts add up to ${money(assigned)}, ${money(-remaining)} more than the ${money(totalMinor)} to pay. Lower a part.`;
  else if (hasCash && cashDue === 0) problem = "The cash part rounds to nothing: make it larger, or take it by card.";
  else if (hasCash && cashGivenMinor === null) problem = `Type the cash received for the cash part (${money(cashDue)}).`;
  else if (hasCash && given < cashDue) problem = `That is ${money(cashDue - given)} short of the cash part (${money(cashDue)}). Take more cash.`;

  return {
    assignedMinor: assigned,
    remainingMinor: remaining,
    cardMinor: card,
    cashShareMinor: cashShare,
    cashDueMinor: cashDue,
    roundingMinor: cashDue - cashShare,
    hasCash,
    hasCard,
    stillToPayMinor: hasCash ? Math.max(0, cashDue - given) : 0,
    changeMinor: hasCash && remaining === 0 ? Math.max(0, given - cashDue) : 0,
    partProblems,
    problem,
    ready: problem === "",
  };
}

/** The tenders of a ready split: each card part in order (charged in that order), then one
 * cash tender with the cash handed over. */
export function splitPartTenders(parts: readonly PartIn[], cashGivenMinor: number | null): TenderBody[] {
  const tenders: TenderBody[] = [];
  for (const p of parts) {
    if (p.kind !== "card" || p.amountMinor === null) continue;
    tenders.push(p.cardToken ? { kind: "card", amount_minor: p.amountMinor, card_token: p.cardToken } : { kind: "card", amount_minor: p.amountMinor });
  }
  if (parts.some((p) => p.kind === "cash") && cashGivenMinor !== null && cashGivenMinor > 0) tenders.push({ kind: "cash", amount_minor: cashGivenMinor });
  return tenders;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
