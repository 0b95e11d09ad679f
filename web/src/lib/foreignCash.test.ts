import { describe, expect, it } from "vitest";
import { amountDueIn, divHalfEven, foreignPart, minorText, parseMinor, parseRate, type CurrencyInfo } from "./foreignCash";

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
