import { describe, expect, it } from "vitest";
import { lowStockNote, type SaleLowStockLine } from "./lowStockNote";

const beans: SaleLowStockLine = { product_id: "p1", sku: "BEANS", name: "Espresso beans", left: 3, reorder_point: 5, reorder_qty: 12, suggested_order_qty: 14 };

describe("the till's running-low note", () => {
  it("names the product, what is left and the reorder point", () => {
    expect(lowStockNote([beans])).toBe("Running low: Espresso beans — 3 left (reorder at 5)");
  });

  it("lists every low product of the sale; none low: no note", () => {
    const cups = { ...beans, product_id: "p2", name: null, sku: "CUP-8", left: 0, reorder_point: 2 };
    expect(lowStockNote([cups, beans])).toBe("Running low: CUP-8 — 0 left (reorder at 2); Espresso beans — 3 left (reorder at 5)");
    expect(lowStockNote([])).toBeNull();
  });
});
