import { describe, expect, it } from "vitest";
import { formatMoney, fractionDigits, parseMoney, quickCashAmounts, toDecimalString } from "./money";

describe("fractionDigits", () => {
  it("knows the minor units of common currencies", () => {
    expect(fractionDigits("EUR")).toBe(2);
    expect(fractionDigits("JPY")).toBe(0);
    expect(fractionDigits("KWD")).toBe(3);
  });
});

describe("toDecimalString", () => {
  it("places the decimal point without floating point", () => {
    expect(toDecimalString(1234, "EUR")).toBe("12.34");
    expect(toDecimalString(5, "EUR")).toBe("0.05");
    expect(toDecimalString(0, "EUR")).toBe("0.00");
    expect(toDecimalString(-250, "EUR")).toBe("-2.50");
    expect(toDecimalString(500, "JPY")).toBe("500");
    expect(toDecimalString(1005, "KWD")).toBe("1.005");
    expect(toDecimalString(999_999_999_999, "EUR")).toBe("9999999999.99");
  });

  it("refuses non-integer money", () => {
    expect(() => toDecimalString(1.5, "EUR")).toThrow(RangeError);
    expect(() => formatMoney(Number.NaN, "EUR")).toThrow(RangeError);
  });
});

describe("formatMoney", () => {
  it("formats integer minor units with the currency", () => {
    expect(formatMoney(1234, "EUR", "en-IE")).toBe("€12.34");
    expect(formatMoney(123456, "EUR", "en-IE")).toBe("€1,234.56");
    expect(formatMoney(5, "USD", "en-US")).toBe("$0.05");
    expect(formatMoney(0, "EUR", "en-IE")).toBe("€0.00");
    expect(formatMoney(500, "JPY", "en-US")).toBe("¥500");
  });

  it("follows the locale's conventions", () => {
    expect(formatMoney(123456, "EUR", "de-DE").replace(/\u00a0/g, " ")).toBe("1.234,56 €");
  });

  it("does not drift on sums of cents", () => {
    // 0.1 + 0.2 style trouble cannot happen: the sum is done on integers.
    expect(formatMoney(10 + 20, "EUR", "en-IE")).toBe("€0.30");
    expect(formatMoney(4_503_599_627_370_49, "EUR", "en-IE")).toBe("€4,503,599,627,370.49");
  });
});

describe("parseMoney", () => {
  it("reads what cashiers type", () => {
    expect(parseMoney("12", "EUR")).toBe(1200);
    expect(parseMoney("12.5", "EUR")).toBe(1250);
    expect(parseMoney("12,50", "EUR")).toBe(1250);
    expect(parseMoney("0.05", "EUR")).toBe(5);
    expect(parseMoney(".5", "EUR")).toBe(50);
    expect(parseMoney(" €20 ", "EUR")).toBe(2000);
    expect(parseMoney("20 €", "EUR")).toBe(2000);
    expect(parseMoney("1,234.56", "EUR")).toBe(123456);
    expect(parseMoney("1.234,56", "EUR")).toBe(123456);
    expect(parseMoney("1,000", "EUR")).toBe(100000);
    expect(parseMoney("1 000,00", "EUR")).toBe(100000);
    expect(parseMoney("500", "JPY")).toBe(500);
  });

  it("refuses what is not an amount", () => {
    expect(parseMoney("", "EUR")).toBeNull();
    expect(parseMoney("abc", "EUR")).toBeNull();
    expect(parseMoney("1.234", "EUR")).toBe(123400); // grouping, not 3 decimals
    expect(parseMoney("1.2345", "EUR")).toBeNull();
    expect(parseMoney("-5", "EUR")).toBeNull();
    expect(parseMoney("1.5", "JPY")).toBeNull();
    expect(parseMoney("12.3.4", "EUR")).toBeNull();
  });
});

describe("quickCashAmounts", () => {
  it("offers the exact sum and the next round amounts", () => {
    expect(quickCashAmounts(420, "EUR")).toEqual([420, 500, 1000, 2000, 5000]);
    expect(quickCashAmounts(1234, "EUR")).toEqual([1234, 1300, 1500, 2000, 5000]);
    expect(quickCashAmounts(2000, "EUR")).toEqual([2000, 5000, 10000]);
    expect(quickCashAmounts(1234, "EUR", 3)).toEqual([1234, 1300, 1500]);
  });

  it("works for currencies without minor units", () => {
    expect(quickCashAmounts(1234, "JPY")).toEqual([1234, 1300, 1500, 2000, 5000]);
  });

  it("offers nothing for an empty sale", () => {
    expect(quickCashAmounts(0, "EUR")).toEqual([]);
  });
});
