import { describe, expect, it } from "vitest";
import {
  longDate,
  percent,
  percentToBp,
  rateProblem,
  scheduleBody,
  taxAddressBody,
  taxAddressProblem,
  taxClassProblem,
  validateSchedule,
} from "./taxRates";

describe("the tax rate form says what the server would refuse", () => {
  it("takes percentages with at most two decimals from 0 to 100", () => {
    for (const ok of ["0", "5.5", "21", "20.00", "8,25", "100", "100.00"]) expect(rateProblem(ok), ok).toBe("");
    expect(rateProblem("")).toMatch(/Enter the rate/);
    expect(rateProblem("-1")).toMatch(/negative/);
    expect(rateProblem("100.01")).toMatch(/over 100 %/);
    expect(rateProblem("101")).toMatch(/over 100 %/);
    expect(rateProblem("20.125")).toMatch(/two decimals/);
    expect(rateProblem("twenty")).toMatch(/not a number/);
    expect(rateProblem("1e2")).toMatch(/not a number/);
  });

  it("refuses an unknown class and a day before the outlet's today", () => {
    const classes = ["reduced", "standard"];
    expect(validateSchedule({ taxClass: "standard", rate: "21", effectiveFrom: "2027-01-01" }, classes, "2026-12-07")).toEqual({});
    expect(validateSchedule({ taxClass: "standard", rate: "21", effectiveFrom: "2026-12-07" }, classes, "2026-12-07")).toEqual({});
    const bad = validateSchedule({ taxClass: "luxury", rate: "x", effectiveFrom: "2026-12-06" }, classes, "2026-12-07");
    expect(Object.keys(bad).sort()).toEqual(["effectiveFrom", "rate", "taxClass"]);
    expect(bad.effectiveFrom).toMatch(/today there is 2026-12-07/);
  });

  it("sends the rate as a decimal string and shows it as people read it", () => {
    expect(scheduleBody({ taxClass: "standard", rate: " 8,25 ", effectiveFrom: "2027-01-01" })).toEqual({ tax_class: "standard", rate: "8.25", effective_from: "2027-01-01" });
    expect([percent("21.00"), percent("5.50"), percent("8.25"), percent("0.00")]).toEqual(["21 %", "5.5 %", "8.25 %", "0 %"]);
    expect(longDate("2027-01-01")).toBe("1 Jan 2027");
  });
});

describe("a new tax class and the tax service's address", () => {
  it("turns a percentage into basis points without a float", () => {
    expect(["21", "5.5", "8,25", "0", "100", "0.07", " 7 "].map(percentToBp)).toEqual([2100, 550, 825, 0, 10000, 7, 700]);
  });

  it("takes a class name products can carry, and not one the outlet has", () => {
    expect(taxClassProblem("food-reduced", ["standard"])).toBe("");
    expect(taxClassProblem("", ["standard"])).toMatch(/Enter the tax class/);
    expect(taxClassProblem("Luxury Tax", ["standard"])).toMatch(/Lower-case letters/);
    expect(taxClassProblem("standard", ["standard"])).toMatch(/already has standard/);
    expect(taxClassProblem("x".repeat(33), [])).toMatch(/32 characters/);
  });

  it("needs a two-letter country for the tax service, in capitals", () => {
    const blank = { country: "", region: "", city: "", postal_code: "", line1: "" };
    expect(taxAddressProblem(blank)).toMatch(/two-letter code/);
    expect(taxAddressProblem({ ...blank, country: "Germany" })).toMatch(/two-letter code/);
    expect(taxAddressProblem({ ...blank, country: "de" })).toBe("");
    expect(taxAddressBody({ ...blank, country: " us", region: "ca", city: " Los Angeles " })).toEqual({ ...blank, country: "US", region: "CA", city: "Los Angeles" });
  });
});
