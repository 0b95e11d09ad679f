// Taking payment: cash, card, or split (lib/splitPay.ts has the split's parts). Pure integer
// arithmetic in minor units, mirroring the sales service's settle(): a card pays exactly
// its amount and never more than the total; cash pays the rest, rounded to the outlet's
// cash increment (halves up); only the cash part gives change.

/** Cash rounding (e.g. to 5 cents): `amount` to the nearest multiple of `increment`, halves up. */
export function roundCash(amountMinor: number, incrementMinor: number): number {
  if (incrementMinor <= 1 || amountMinor <= 0) return Math.max(0, amountMinor);
  return Math.floor((2 * amountMinor + incrementMinor) / (2 * incrementMinor)) * incrementMinor;
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
