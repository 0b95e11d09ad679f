// Taking payment: cash, card, or split (a card part and the rest in cash). Pure integer
// arithmetic in minor units, mirroring the sales service's settle(): a card pays exactly
// its amount and never more than the total; cash pays the rest, rounded to the outlet's
// cash increment (halves up); only the cash part gives change.

import type { TenderBody } from "./cart";

/** Cash rounding (e.g. to 5 cents): `amount` to the nearest multiple of `increment`, halves up. */
export function roundCash(amountMinor: number, incrementMinor: number): number {
  if (incrementMinor <= 1 || amountMinor <= 0) return Math.max(0, amountMinor);
  return Math.floor((2 * amountMinor + incrementMinor) / (2 * incrementMinor)) * incrementMinor;
}

export interface SplitState {
  /** What the card is charged (null: not typed or not valid). */
  cardMinor: number | null;
  /** What the cash part must cover, after cash rounding. */
  cashDueMinor: number;
  /** Still to pay in cash after what was handed over. */
  remainingMinor: number;
  /** Change to give, from the cash part only. */
  changeMinor: number;
  /** Everything is there: the sale can be posted. */
  ready: boolean;
  /** What is wrong with the card part, in words (empty when nothing is). */
  problem: string;
}

/**
 * A split payment: `cardMinor` on the card, `cashGivenMinor` handed over in cash.
 * The card part must be more than zero and less than the total (all of it is a card sale).
 */
export function splitTender(totalMinor: number, cardMinor: number | null, cashGivenMinor: number | null, cashRoundingMinor = 0): SplitState {
  const cash = cashGivenMinor ?? 0;
  let problem = "";
  let card = cardMinor;
  if (card === null) problem = "Type the amount to charge to the card.";
  else if (card <= 0) problem = "The card part must be more than zero.";
  else if (card >= totalMinor) problem = "The card part must be less than the total: for all of it, pay by card.";
  if (problem) card = null;
  const cashDue = roundCash(totalMinor - (card ?? 0), cashRoundingMinor);
  return {
    cardMinor: card,
    cashDueMinor: cashDue,
    remainingMinor: Math.max(0, cashDue - cash),
    changeMinor: card === null ? 0 : Math.max(0, cash - cashDue),
    ready: card !== null && cash >= cashDue && cash > 0,
    problem,
  };
}

/** The tenders of a split sale: the card first (charged first), then the cash handed over. */
export function splitTenders(cardMinor: number, cashGivenMinor: number, cardToken?: string | null): TenderBody[] {
  const card: TenderBody = cardToken ? { kind: "card", amount_minor: cardMinor, card_token: cardToken } : { kind: "card", amount_minor: cardMinor };
  return [card, { kind: "cash", amount_minor: cashGivenMinor }];
}

/** The sandbox card processor's test cards (docs/checkout.md), for testers to drive declines. */
export const TEST_CARDS: readonly { token: string; label: string }[] = [
  { token: "pm_card_visa", label: "Visa: approved" },
  { token: "pm_card_mastercard", label: "Mastercard: approved" },
  { token: "pm_card_chargeDeclined", label: "Declined (generic)" },
  { token: "pm_card_chargeDeclinedInsufficientFunds", label: "Declined: insufficient funds" },
  { token: "pm_card_chargeDeclinedExpiredCard", label: "Declined: expired card" },
  { token: "pm_card_sandbox_timeoutOnce", label: "Slow answer once, then approved" },
  { token: "pm_card_sandbox_error500Once", label: "Processor error once, then approved" },
  { token: "pm_card_sandbox_timeoutAlways", label: "Never answers (outcome unknown)" },
];

const DECLINES: Record<string, string> = {
  generic_decline: "the bank declined it",
  insufficient_funds: "insufficient funds",
  expired_card: "the card has expired",
  incorrect_cvc: "wrong security code",
  lost_card: "the card is reported lost",
  stolen_card: "the card is reported stolen",
  card_not_supported: "this card is not accepted",
  do_not_honor: "the bank declined it",
};

/** A 402's decline code in words ("insufficient funds"). */
export function declineReason(code: unknown, detail = ""): string {
  if (typeof code === "string" && code) return DECLINES[code] ?? code.replace(/_/g, " ");
  return detail || "no reason given";
}
