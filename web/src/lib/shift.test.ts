import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import { cashRows, describeShiftError, expectedCash, overShort, overShortText, tenderName, type ZCash } from "./shift";
import { convertedLabel, currencyRows, expectedInCurrency } from "./shift";

const cash: ZCash = {
  opening_float_minor: 10000,
  sales_minor: 680,
  refunds_minor: 340,
  in_minor: 500,
  out_minor: 2000,
  foreign_change_minor: 0,
  expected_minor: 8840,
};

describe("shift cash", () => {
  it("expects float + cash sales - cash refunds + cash in - cash out", () => {
    expect(expectedCash(cash)).toBe(10000 + 680 - 340 + 500 - 2000);
    expect(expectedCash(cash)).toBe(cash.expected_minor);
  });
  it("lists the cash rows with the signs that add up to the expected cash", () => {
    const rows = cashRows(cash);
    expect(rows.map((r) => r.label)).toEqual(["Opening float", "Cash sales", "Cash refunds", "Cash in", "Cash out"]);
    expect(rows.reduce((sum, r) => sum + r.minor, 0)).toBe(cash.expected_minor);
  });
  it("takes the euro change given for foreign cash out of the drawer", () => {
    const withForeign = { ...cash, foreign_change_minor: 549, expected_minor: cash.expected_minor - 549 };
    expect(expectedCash(withForeign)).toBe(withForeign.expected_minor);
    const rows = cashRows(withForeign);
    expect(rows.at(-1)).toEqual({ key: "foreign-change", label: "Change for foreign cash", minor: -549 });
    expect(rows.reduce((sum, r) => sum + r.minor, 0)).toBe(withForeign.expected_minor);
  });
  it("over/short is counted minus expected", () => {
    expect(overShort(8900, 8840)).toBe(60);
    expect(overShort(8800, 8840)).toBe(-40);
    expect(overShort(8840, 8840)).toBe(0);
  });
  it("says over, short or exact in words", () => {
    expect(overShortText(60, "EUR")).toMatch(/^Over by €0\.60$/);
    expect(overShortText(-40, "EUR")).toMatch(/^Short by €0\.40$/);
    expect(overShortText(0, "EUR")).toMatch(/^Exact/);
  });
});

describe("shift words", () => {
  it("names tenders", () => {
    expect(tenderName("cash")).toBe("Cash");
    expect(tenderName("card")).toBe("Card");
    expect(tenderName("voucher")).toBe("Voucher");
  });
  it("explains a conflict and what to do", () => {
    const text = describeShiftError(new ApiError(409, "register r1 already has an open shift (s1): close it first"), "be opened");
    expect(text).toBe("The shift could not be opened: register r1 already has an open shift (s1): close it first. Reload the shift to see its state.");
    expect(describeShiftError(new ApiError(0, "x"), "be closed")).toMatch(/No answer from the server/);
  });
});

describe("cash per currency (ADR 0063)", () => {
  const usd = {
    currency: "USD", own: false, opening_float_minor: 5000, sales_minor: 3000, refunds_minor: 0,
    in_minor: 200, out_minor: 1000, change_given_minor: 0,
  };
  it("adds up a foreign drawer like the server", () => {
    expect(expectedInCurrency(usd)).toBe(7200);
    expect(expectedInCurrency({ ...usd, currency: "EUR", own: true, refunds_minor: 1250, change_given_minor: 275 })).toBe(5675);
  });
  it("labels a converted over/short with its rate, source, date and basis", () => {
    const converted = { currency: "EUR", over_short_minor: -92, rate: "1.0812", rate_source: "ecb", rate_as_of: "2026-12-07", rate_basis: "sale" as const };
    expect(convertedLabel("USD", converted)).toBe("converted at 1 EUR = 1.0812 USD (the rate of the shift's last USD sale: ecb, 2026-12-07)");
    expect(convertedLabel("CHF", { ...converted, rate_basis: "payments" })).toContain("payments' rate at the close");
  });
  it("lists the figures with the signs they add up with", () => {
    const total = currencyRows.reduce((sum, row) => sum + row.sign * row.pick({ ...usd, expected_minor: 0 }), 0);
    expect(total).toBe(expectedInCurrency(usd));
  });
});
