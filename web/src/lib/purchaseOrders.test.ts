import { describe, expect, it } from "vitest";
import { checkDraft, checkOrderReceipt, draftEntries, receiptEntries, statusText, type PurchaseOrder } from "./purchaseOrders";

function order(lines: Partial<PurchaseOrder["lines"][number]>[]): PurchaseOrder {
  return {
    id: 7,
    number: "PO-000007",
    outlet_id: "o1",
    outlet_name: "Harbour St",
    supplier_id: "s1",
    supplier_name: "Bean & Leaf",
    supplier_email: "orders@beanleaf.example",
    status: "sent",
    currency: "EUR",
    note: "",
    created_by: "u1",
    created_at: "2026-12-07T10:00:00Z",
    sent_at: null,
    sent_to: null,
    received_at: null,
    closed_at: null,
    total_minor: 0,
    lines: lines.map((l, i) => ({
      product_id: `p${i}`,
      name: `Product ${i}`,
      sku: `SKU-${i}`,
      supplier_sku: "",
      qty: 10,
      received: 0,
      outstanding: 10,
      unit_cost_minor: 0,
      total_minor: 0,
      on_hand: 0,
      ...l,
    })),
  };
}

describe("a draft's quantities and costs", () => {
  it("start from the order and become minor units", () => {
    const o = order([{ qty: 12, unit_cost_minor: 189 }, { qty: 3, unit_cost_minor: 0 }]);
    const entries = draftEntries(o);
    expect(entries).toEqual({ p0: { qty: "12", cost: "1.89" }, p1: { qty: "3", cost: "0.00" } });
    entries.p0 = { qty: "20", cost: "1,95" };
    const check = checkDraft(o, entries);
    expect(check.problems).toEqual([]);
    expect(check.totals).toEqual({ p0: 3900, p1: 0 });
    expect(check.body.lines).toEqual([
      { product_id: "p0", qty: 20, unit_cost_minor: 195 },
      { product_id: "p1", qty: 3, unit_cost_minor: 0 },
    ]);
  });

  it("drop a line set to 0 and refuse what is not a quantity or an amount", () => {
    const o = order([{}, {}]);
    expect(checkDraft(o, { p0: { qty: "0", cost: "" }, p1: { qty: "2", cost: "" } }).body.lines).toEqual([
      { product_id: "p1", qty: 2, unit_cost_minor: 0 },
    ]);
    const bad = checkDraft(o, { p0: { qty: "2.5", cost: "" }, p1: { qty: "2", cost: "abc" } });
    expect(bad.problems).toEqual([
      "Quantity of Product 0: type a whole number from 0 to 100000 (0 takes it off the order).",
      "Unit cost of Product 1: type an amount such as 12.50 (or leave it empty if not known).",
    ]);
    expect(checkDraft(o, { p0: { qty: "0", cost: "" }, p1: { qty: "0", cost: "" } }).problems).toEqual([
      "Every quantity is 0: keep at least one line, or cancel the order.",
    ]);
  });
});

describe("a receipt against the order", () => {
  it("defaults to everything still to come and sends only lines that arrived", () => {
    const o = order([{ qty: 20, received: 8, outstanding: 12 }, { qty: 3, received: 3, outstanding: 0 }]);
    expect(receiptEntries(o)).toEqual({ p0: "12", p1: "0" });
    const check = checkOrderReceipt(o, { p0: "5", p1: "0" });
    expect(check).toEqual({ problems: [], units: 5, body: { lines: [{ product_id: "p0", qty: 5 }] } });
  });

  it("refuses more than is still to come, and nothing at all", () => {
    const o = order([{ qty: 20, received: 8, outstanding: 12 }]);
    expect(checkOrderReceipt(o, { p0: "13" }).problems[0]).toContain("13 arrived but only 12 of the 20 ordered are still to come");
    expect(checkOrderReceipt(o, { p0: "0" }).problems).toEqual(["Nothing arrived: type the quantity of at least one product."]);
    expect(checkOrderReceipt(o, { p0: "-1" }).problems).toEqual(["Product 0: type the whole number that arrived, 0 or more."]);
  });
});

it("says the status in words", () => {
  expect(statusText("partially_received")).toBe("partly received");
});
