import { describe, expect, it } from "vitest";
import { isMoney, rankedFigure, rankingTitle, rankNote } from "./itemRanking";
import { compareOutlets, comparedWith, describeChange, stockNotes, stockValueText } from "./outletReports";
import type { ItemRow, OutletRow } from "./types";

describe("change against the previous period", () => {
  it("reads basis points as a signed percentage to one decimal", () => {
    expect(describeChange(1250)).toEqual({ text: "+12.5 %", trend: "up" });
    expect(describeChange(-300)).toEqual({ text: "\u22123.0 %", trend: "down" });
    expect(describeChange(10_000)).toEqual({ text: "+100.0 %", trend: "up" });
    expect(describeChange(-10_000)).toEqual({ text: "\u2212100.0 %", trend: "down" });
    expect(describeChange(123_456)).toEqual({ text: "+1,234.6 %", trend: "up" });
  });
  it("rounds half up, on the integer, the same both ways", () => {
    expect(describeChange(1234).text).toBe("+12.3 %");
    expect(describeChange(1235).text).toBe("+12.4 %");
    expect(describeChange(-1235).text).toBe("\u221212.4 %");
    expect(describeChange(5).text).toBe("+0.1 %");
  });
  it("calls a change that rounds to nothing flat, and nothing before new", () => {
    expect(describeChange(0)).toEqual({ text: "0.0 %", trend: "flat" });
    expect(describeChange(-4)).toEqual({ text: "0.0 %", trend: "flat" });
    expect(describeChange(null)).toEqual({ text: "new", trend: "new" });
    expect(describeChange(undefined)).toEqual({ text: "new", trend: "new" });
  });
  it("says it in words too", () => {
    expect(comparedWith("down", "€90.00")).toBe("down from €90.00");
    expect(comparedWith("up", "€90.00")).toBe("up from €90.00");
    expect(comparedWith("flat", "€90.00")).toBe("same as €90.00");
    expect(comparedWith("new", "€0.00")).toBe("no sales before");
  });
});

// The figures every sales row carries (reports' SalesFigures), at zero.
const figures = {
  items_sold: 0,
  discount_minor: 0,
  tax_minor: 0,
  net_minor: 0,
  refund_count: 0,
  refund_items: 0,
  refund_minor: 0,
  refund_tax_minor: 0,
  net_after_refunds_minor: 0,
  cost_minor: 0,
  refund_cost_minor: 0,
  margin_minor: 0,
};

const outlet = (name: string, gross: number, currency = "EUR"): OutletRow => ({
  ...figures,
  outlet_id: name.toLowerCase(),
  name,
  timezone: "Europe/Dublin",
  currency,
  sales_count: 1,
  gross_minor: gross,
  average_basket_minor: gross,
  previous_gross_minor: 0,
  previous_sales_count: 0,
  gross_change_bp: null,
});

describe("outlets compared", () => {
  it("keeps the currency shown, best gross first, ties by name", () => {
    const rows = [outlet("Bray", 500), outlet("Cork", 900), outlet("Derry", 5000, "GBP"), outlet("Athlone", 500)];
    expect(compareOutlets(rows, "EUR").map((r) => r.name)).toEqual(["Cork", "Athlone", "Bray"]);
    expect(compareOutlets(rows, "GBP").map((r) => r.name)).toEqual(["Derry"]);
    expect(rows.map((r) => r.name)).toEqual(["Bray", "Cork", "Derry", "Athlone"]); // not sorted in place
  });
});

describe("stock value notes", () => {
  it("says what the value leaves out", () => {
    expect(stockNotes({ negative_products: 0, uncosted_products: 0, currency: "EUR" })).toEqual([]);
    expect(stockNotes({ negative_products: 2, uncosted_products: 1, currency: "EUR" })).toEqual([
      "2 oversold, counted at zero",
      "1 without a cost price",
    ]);
    expect(stockNotes({ negative_products: 0, uncosted_products: 3, currency: "" })).toEqual([
      "3 without a cost price",
      "currency not known yet",
    ]);
  });
  it("shows no amount where the currency is not known yet", () => {
    expect(stockValueText(123_450, "EUR")).toMatch(/1,234\.50/);
    expect(stockValueText(0, "")).toBe("—");
  });
});

const item = (over: Partial<ItemRow>): ItemRow => ({
  discount_minor: 0,
  tax_minor: 0,
  net_minor: 0,
  refund_qty: 0,
  refund_minor: 0,
  refund_tax_minor: 0,
  net_after_refunds_minor: 0,
  cost_minor: 0,
  refund_cost_minor: 0,
  product_id: "p",
  sku: "S",
  name: "Rye loaf",
  qty: 4,
  gross_minor: 1600,
  currency: "EUR",
  margin_minor: 520,
  margin_bp: 3611,
  ...over,
} as ItemRow);

describe("product ranking", () => {
  const euro = (minor: number) => `€${(minor / 100).toFixed(2)}`;
  it("shows the figure it ranks by", () => {
    expect(rankedFigure(item({}), "gross")).toBe(1600);
    expect(rankedFigure(item({}), "qty")).toBe(4);
    expect(rankedFigure(item({}), "margin")).toBe(520);
    expect(rankedFigure(item({ margin_minor: -75 }), "margin")).toBe(-75);
    expect(rankedFigure(item({ margin_minor: undefined }), "margin")).toBe(0); // an older reports service
  });
  it("never shows a quantity as money", () => {
    expect(isMoney("qty")).toBe(false);
    expect(isMoney("gross")).toBe(true);
    expect(isMoney("margin")).toBe(true);
  });
  it("names the list after the ranking", () => {
    expect(rankingTitle("gross", "desc")).toBe("Top items by gross sales");
    expect(rankingTitle("qty", "asc")).toBe("Bottom items by quantity");
    expect(rankingTitle("margin", "asc")).toBe("Bottom items by margin");
  });
  it("adds what the figure does not say", () => {
    expect(rankNote(item({}), "gross", euro)).toBe("4 sold");
    expect(rankNote(item({}), "qty", euro)).toBe("€16.00");
    expect(rankNote(item({}), "margin", euro)).toBe("4 sold, 36.11% of net");
    expect(rankNote(item({ margin_bp: null }), "margin", euro)).toBe("4 sold");
  });
});
