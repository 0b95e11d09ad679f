import { describe, expect, it } from "vitest";
import { amountDueIn, divHalfEven, foreignPart, foreignSaleTenders, minorText, parseMinor, parseRate, restInCash, type CurrencyInfo } from "./foreignCash";

const EUR: CurrencyInfo = { code: "EUR", name: "Euro", minor_units: 2, cash_unit_minor: 1 };
const USD: CurrencyInfo = { code: "USD", name: "US Dollar", minor_units: 2, cash_unit_minor: 1 };
const CHF: CurrencyInfo = { code: "CHF", name: "Swiss Franc", minor_units: 2, cash_unit_minor: 5 };
const JPY: CurrencyInfo = { code: "JPY", name: "Yen", minor_units: 0, cash_unit_minor: 1 };

describe("foreign cash, as the server settles it", () => {
  it("rounds the amount due to the foreign cash unit, ties to even", () => {
    expect(amountDueIn(5000, { local: EUR, foreign: USD, rate: "1.0812" })).toBe(5406);
    // 12.50 EUR at 0.9312 = 11.64 CHF -> 11.65 (5-rappen steps)
    expect(amountDueIn(1250, { local: EUR, foreign: CHF, rate: "0.9312" })).toBe(1165);
    expect(amountDueIn(1000, { local: EUR, foreign: JPY, rate: "162.97" })).toBe(1630);
    expect(divHalfEven(5n, 2n)).toBe(2n);
    expect(divHalfEven(7n, 2n)).toBe(4n);
  });

  it("gives change in the outlet's currency for what was handed over beyond the amount due", () => {
    // the docs' example: 20 CHF for 12.50 EUR: 8.35 CHF over = 8.9669 EUR -> 8.97 EUR
    expect(foreignPart(1250, 2000, { local: EUR, foreign: CHF, rate: "0.9312" })).toEqual({ dueForeignMinor: 1165, creditMinor: 1250, changeMinor: 897, settled: true });
    expect(foreignPart(5000, 6000, { local: EUR, foreign: USD, rate: "1.0812" }).changeMinor).toBe(549);
    expect(foreignPart(5000, 5406, { local: EUR, foreign: USD, rate: "1.0812" }).changeMinor).toBe(0);
  });

  it("credits a part payment rounded down, leaving the rest for another tender", () => {
    expect(foreignPart(2500, 2000, { local: EUR, foreign: USD, rate: "1.0812" })).toEqual({ dueForeignMinor: 2703, creditMinor: 1849, changeMinor: 0, settled: false });
  });

  it("reads rates and amounts as decimal text only", () => {
    expect(parseRate("1.0812")).toEqual({ num: 10812n, den: 10000n });
    expect(parseRate("1e3")).toBeNull();
    expect(parseRate("0.000")).toBeNull();
    expect(parseMinor("54.06", 2)).toBe(5406);
    expect(parseMinor("60", 2)).toBe(6000);
    expect(parseMinor("1.005", 2)).toBeNull();
    expect(parseMinor("500", 0)).toBe(500);
    expect(minorText(5406, 2)).toBe("54.06");
    expect(minorText(1630, 0)).toBe("1630");
  });
});

describe("what foreign cash leaves, taken in the outlet's cash (online and offline)", () => {
  const pair = { local: EUR, foreign: USD, rate: "1.0812" };
  // 20 USD for a 25.00 EUR sale: credited 18.49 EUR (rounded down), 6.51 EUR left
  const part = foreignPart(2500, 2000, pair);
  const euro = (minor: number) => `€${minorText(minor, 2)}`;
  const base = { totalMinor: 2500, code: "USD", foreignMinor: 2000, rate: "1.0812", part, cashRoundingMinor: 0, restByCard: false, offline: false, cardToken: null, money: euro, outletCurrency: "EUR" };

  it("is the rest exactly without cash rounding, change for what is handed over beyond it", () => {
    expect(restInCash(2500, part, 0, 1000)).toEqual({ restMinor: 651, dueMinor: 651, roundingMinor: 0, enough: true, changeMinor: 349 });
    expect(restInCash(2500, part, 0, 651)).toMatchObject({ enough: true, changeMinor: 0 });
    expect(restInCash(2500, part, 0, 650)).toMatchObject({ enough: false, changeMinor: 0 });
    expect(restInCash(2500, part, 0, null)).toMatchObject({ dueMinor: 651, enough: false, changeMinor: 0 });
  });

  it("rounds the rest to the outlet's cash increment, halves up, as sales settles it", () => {
    // 6.51 -> 6.50 in 5-cent steps; handed 10: 3.50 change
    expect(restInCash(2500, part, 5, 1000)).toEqual({ restMinor: 651, dueMinor: 650, roundingMinor: -1, enough: true, changeMinor: 350 });
    expect(restInCash(2500, part, 5, 650).enough).toBe(true);
    // a rest of 6.55 in 10-cent steps is 6.60 (half up): 6.55 handed over is short
    const other = foreignPart(2504, 2000, pair); // 25.04 - 18.49 = 6.55
    expect(restInCash(2504, other, 10, 655)).toMatchObject({ restMinor: 655, dueMinor: 660, roundingMinor: 5, enough: false });
    expect(restInCash(2504, other, 10, 700)).toMatchObject({ enough: true, changeMinor: 40 });
  });

  it("leaves nothing when the foreign cash pays it all", () => {
    const all = foreignPart(2500, 3000, pair);
    expect(restInCash(2500, all, 5, null)).toMatchObject({ restMinor: 0, dueMinor: 0, enough: false });
    expect(foreignSaleTenders({ ...base, part: all, foreignMinor: 3000, restCashMinor: 500 })).toEqual({
      tenders: [{ kind: "foreign_cash", currency: "USD", amount_minor: 3000, quoted_rate: "1.0812" }],
    });
  });

  it("posts the foreign cash and the outlet cash handed over, as one sale", () => {
    expect(foreignSaleTenders({ ...base, restCashMinor: 1000 })).toEqual({
      tenders: [
        { kind: "foreign_cash", currency: "USD", amount_minor: 2000, quoted_rate: "1.0812" },
        { kind: "cash", amount_minor: 1000 },
      ],
    });
  });

  it("says what is missing when the cash for the rest is not there (online: or the card)", () => {
    expect(foreignSaleTenders({ ...base, restCashMinor: null }).problem).toBe(
      "The USD leaves €6.51 to pay: type the EUR cash received for it, or charge the rest (€6.51) to the card.",
    );
    expect(foreignSaleTenders({ ...base, cashRoundingMinor: 5, restCashMinor: 600, offline: true }).problem).toBe(
      "The USD leaves €6.50 to pay: type the EUR cash received for it.",
    );
  });

  it("charges exactly the rest (unrounded) to the card online, never offline", () => {
    expect(foreignSaleTenders({ ...base, cashRoundingMinor: 5, restCashMinor: null, restByCard: true, cardToken: "pm_card_visa" }).tenders).toEqual([
      { kind: "foreign_cash", currency: "USD", amount_minor: 2000, quoted_rate: "1.0812" },
      { kind: "card", amount_minor: 651, card_token: "pm_card_visa" },
    ]);
    expect(foreignSaleTenders({ ...base, restCashMinor: null, restByCard: true, offline: true }).problem).toContain("type the EUR cash received");
  });
});
