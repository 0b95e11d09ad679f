import { describe, expect, it } from "vitest";
import { csvField, csvHeader, missingColumns, PRODUCT_CSV_COLUMNS, productCsvTemplate, toCsv } from "./csv";
import { importProgress, importSummary, sortedErrors, type ImportJob } from "./importJob";
import { overShortWord } from "./shift";
import { coverText, withCover, type LowStockLine } from "./stockCover";
import { checkReceipt, draftBody, draftProblems, units, type DraftLine, type TransferLine } from "./transferLines";

describe("product CSV template", () => {
  it("is the export's header row and nothing else", () => {
    expect(productCsvTemplate()).toBe("sku,name,description,barcodes,category,price_minor,cost_minor,tax_class,unit,active\r\n");
    expect(csvHeader(productCsvTemplate())).toEqual([...PRODUCT_CSV_COLUMNS]);
    expect(missingColumns(csvHeader(productCsvTemplate()))).toEqual([]);
  });
  it("reads headers with a BOM, quotes, semicolons and any case", () => {
    expect(csvHeader('\uFEFF"SKU";Name;price_minor\r\nA;b;1')).toEqual(["sku", "name", "price_minor"]);
    expect(missingColumns(["sku", "price"])).toEqual(["name", "price_minor"]);
  });
  it("quotes fields that need it", () => {
    expect(csvField('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvField(" padded")).toBe('" padded"');
    expect(csvField(null)).toBe("");
    expect(toCsv([["a", 1, true], ["x;y", "", undefined]])).toBe('a,1,true\r\n"x;y",,\r\n');
  });
});

const job = (over: Partial<ImportJob>): ImportJob => ({
  id: "j",
  status: "validating",
  dry_run: false,
  filename: "f.csv",
  total_rows: 40,
  validated_rows: 0,
  imported_rows: 0,
  progress: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  error_count: 0,
  errors: [],
  message: null,
  created_at: "",
  finished_at: null,
  ...over,
});

describe("import progress", () => {
  it("counts rows checked, then rows imported, and is full when done", () => {
    expect(importProgress(job({ validated_rows: 10 }))).toMatchObject({ value: 10, max: 40, label: "Checking rows: 10 of 40" });
    expect(importProgress(job({ status: "importing", validated_rows: 40, imported_rows: 25 }))).toMatchObject({ value: 25, max: 40 });
    expect(importProgress(job({ status: "done", imported_rows: 40 }))).toMatchObject({ value: 40, max: 40, label: "Done: 40 of 40 rows" });
  });
  it("never gives an empty max (an indeterminate bar) or a value past it", () => {
    expect(importProgress(job({ total_rows: 0 }))).toMatchObject({ value: 0, max: 1 });
    expect(importProgress(job({ validated_rows: 99 })).value).toBe(40);
  });
  it("says nothing was imported when the file has errors", () => {
    const failed = job({ status: "failed", error_count: 3, errors: [{ row: 4, column: "price_minor", message: "x" }] });
    expect(importProgress(failed).label).toContain("nothing was imported");
    expect(importSummary(failed)).toBe("Nothing was imported: the file has 3 errors (the first 1 are listed). Correct the file and import it again.");
    expect(importSummary(job({ status: "failed", message: "the file is not UTF-8" }))).toBe(
      "Nothing was imported. The file is not UTF-8. Correct the file and import it again.",
    );
    expect(importSummary(job({ status: "done", created: 2, updated: 1, unchanged: 37 }))).toBe(
      "Imported 40 rows: 2 created, 1 updated, 37 unchanged.",
    );
    expect(importSummary(job({ status: "done", dry_run: true }))).toContain("nothing imported");
  });
  it("lists errors in file order", () => {
    const errors = [
      { row: 9, column: "sku", message: "" },
      { row: 3, column: "price_minor", message: "" },
      { row: 3, column: "name", message: "" },
    ];
    expect(sortedErrors(errors).map((e) => `${e.row}:${e.column}`)).toEqual(["3:name", "3:price_minor", "9:sku"]);
  });
});

const draft = (qty: string, available: number | null = 10): DraftLine => ({ product_id: "p", name: "Tea", qty, available });

describe("planning a transfer", () => {
  it("needs two different outlets and a line", () => {
    expect(draftProblems("", "", [])).toHaveLength(3);
    expect(draftProblems("a", "a", [draft("1")])).toEqual(["From and To are the same outlet: pick two different outlets."]);
    expect(draftProblems("a", "b", [draft("4")])).toEqual([]);
  });
  it("takes whole quantities up to what the source has", () => {
    expect(draftProblems("a", "b", [draft("0")])[0]).toContain("whole number");
    expect(draftProblems("a", "b", [draft("1.5")])[0]).toContain("whole number");
    expect(draftProblems("a", "b", [draft("11")])[0]).toBe("Tea: only 10 available at the source, 11 asked. Lower it, or receive goods first.");
    expect(draftProblems("a", "b", [draft("11", null)])).toEqual([]);
  });
  it("builds the request body and counts units", () => {
    const body = draftBody("a", "b", [draft(" 4 "), { ...draft("2"), product_id: "q" }], "  ");
    expect(body).toEqual({ from_outlet_id: "a", to_outlet_id: "b", note: null, lines: [{ product_id: "p", qty: 4 }, { product_id: "q", qty: 2 }] });
    expect(units(body.lines)).toBe(6);
  });
});

const sent: TransferLine[] = [
  { product_id: "p", name: "Tea", qty: 5, received: null, damaged: null, missing: null },
  { product_id: "q", name: "Cups", qty: 3, received: null, damaged: null, missing: null },
];

describe("receiving a transfer", () => {
  it("sends nothing for lines that arrived in full", () => {
    const check = checkReceipt(sent, {});
    expect(check.problems).toEqual([]);
    expect(check.body.lines).toEqual([]);
    expect(check.missing).toEqual({ p: 0, q: 0 });
  });
  it("works out what is missing and lists short or damaged lines", () => {
    const check = checkReceipt(sent, { p: { received: "3", damaged: "1" }, q: { received: "3", damaged: "" } });
    expect(check.problems).toEqual([]);
    expect(check.missing).toEqual({ p: 1, q: 0 });
    expect(check.body.lines).toEqual([{ product_id: "p", received: 3, damaged: 1 }]);
  });
  it("refuses more than was sent, and anything but whole numbers", () => {
    expect(checkReceipt(sent, { p: { received: "5", damaged: "1" } }).problems).toEqual(["Tea: 5 received + 1 damaged is more than the 5 sent."]);
    expect(checkReceipt(sent, { q: { received: "-1", damaged: "0" } }).problems[0]).toContain("whole numbers");
  });
});

describe("low stock with days of cover", () => {
  const line: LowStockLine = {
    outlet_id: "o",
    product_id: "p",
    sku: "T",
    name: "Tea",
    on_hand: 2,
    reserved: 0,
    available: 2,
    reorder_point: 5,
    reorder_qty: 0,
    low: true,
    oversell: "block",
    suggested_order_qty: 4,
  };
  it("suggests the larger of the reorder quantity and what covers the target days", () => {
    const cover = [{ outlet_id: "o", product_id: "p", sold: 28, daily_velocity: 1, days_of_cover: 2, suggested_order_qty: 12 }];
    expect(withCover([line], cover)[0]).toMatchObject({ days_of_cover: 2, cover_order_qty: 12, order_qty: 12 });
    expect(withCover([line], [{ ...cover[0], suggested_order_qty: 1 }])[0].order_qty).toBe(4);
  });
  it("keeps the inventory suggestion when there is no cover report", () => {
    expect(withCover([line], null)[0]).toMatchObject({ days_of_cover: null, cover_order_qty: null, order_qty: 4 });
    expect(withCover([line], [{ outlet_id: "other", product_id: "p", sold: 1, daily_velocity: 1, days_of_cover: 1, suggested_order_qty: 9 }])[0].order_qty).toBe(4);
  });
  it("words the cover", () => {
    expect(coverText(null)).toBe("no recent sales");
    expect(coverText(0.4)).toBe("less than a day");
    expect(coverText(3.5)).toBe("3.5 days");
    expect(coverText(21)).toBe("21 days");
  });
  it("words a drawer count", () => {
    expect([overShortWord(5), overShortWord(-5), overShortWord(0)]).toEqual(["Over", "Short", "Balanced"]);
  });
});

import { busiestHour, discountsAndRefunds, hourSeries } from "./officeReports";

describe("dashboard extras", () => {
  it("sums discounts and refunds, or says the service has none", () => {
    expect(discountsAndRefunds([{}, {}])).toBeNull();
    expect(
      discountsAndRefunds([
        { discount_minor: 100, refund_count: 1, refund_minor: 250, net_after_refunds_minor: 900 },
        { discount_minor: 20, refund_count: 0, refund_minor: 0, net_after_refunds_minor: 400 },
      ]),
    ).toEqual({ discount_minor: 120, refund_count: 1, refund_minor: 250, net_after_refunds_minor: 1300 });
  });
  it("fills 24 hours and names the busiest", () => {
    const series = hourSeries([
      { hour: 9, gross_minor: 500, sales_count: 2, currency: "EUR" },
      { hour: 14, gross_minor: 900, sales_count: 3, currency: "EUR" },
      { hour: 14, gross_minor: 100, sales_count: 1, currency: "EUR" },
      { hour: 25, gross_minor: 999, sales_count: 1, currency: "EUR" },
    ]);
    expect(series).toHaveLength(24);
    expect(series[14]).toEqual({ hour: 14, value: 1000, count: 4 });
    expect(series[0].value).toBe(0);
    expect(busiestHour(series)).toBe("14:00–15:00");
    expect(busiestHour(hourSeries([]))).toBe("");
  });
});

import { countEffect, parseCounted, signed, type CountLine } from "./stockCount";

describe("stock counts", () => {
  const line = (difference: number): CountLine => ({
    product_id: String(difference),
    name: null,
    expected: 10,
    counted: 10 + difference,
    difference,
    on_hand_now: 10,
    entered_by: "",
    entered_at: "",
  });
  it("says what posting moves", () => {
    expect(countEffect([line(3), line(-2), line(0), line(-1)])).toEqual({ up: 3, down: 3, changed: 3 });
    expect(countEffect([])).toEqual({ up: 0, down: 0, changed: 0 });
  });
  it("takes whole counted quantities only", () => {
    expect(parseCounted(" 12 ")).toBe(12);
    expect(parseCounted("0")).toBe(0);
    expect([parseCounted("-1"), parseCounted("1.5"), parseCounted(""), parseCounted("20000000")]).toEqual([null, null, null, null]);
    expect([signed(3), signed(-2), signed(0)]).toEqual(["+3", "-2", "0"]);
  });
});
