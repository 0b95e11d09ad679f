import { describe, expect, it } from "vitest";
import {
  addToCart,
  cartTotals,
  changeDue,
  describeShortStock,
  lineTotal,
  MAX_LINE_QTY,
  removeLine,
  saleBody,
  setQty,
  singleTender,
  stockWarning,
  type CartLine,
  unitCurrency,
} from "./cart";
import { formatMoney } from "./money";

const bread = { id: "p1", sku: "DEMO-0001", name: "Sourdough loaf", price_minor: 420, currency: "EUR" };
const milk = { id: "p2", sku: "DEMO-0007", name: "Whole milk 1 l", price_minor: 129, currency: "EUR" };

describe("cart lines", () => {
  it("adds a product as a line, and again as more of the same line", () => {
    let lines: CartLine[] = [];
    lines = addToCart(lines, bread);
    lines = addToCart(lines, milk, 2);
    lines = addToCart(lines, bread);
    expect(lines.map((l) => [l.name, l.qty])).toEqual([
      ["Sourdough loaf", 2],
      ["Whole milk 1 l", 2],
    ]);
  });

  it("changes a quantity, removes at zero, caps at the API's limit", () => {
    const lines = addToCart(addToCart([], bread), milk);
    expect(setQty(lines, "p1", 5).find((l) => l.productId === "p1")?.qty).toBe(5);
    expect(setQty(lines, "p1", 2.7).find((l) => l.productId === "p1")?.qty).toBe(2);
    expect(setQty(lines, "p1", 0).map((l) => l.productId)).toEqual(["p2"]);
    expect(setQty(lines, "p1", Number.NaN)).toEqual(lines);
    expect(setQty(lines, "p1", 10 ** 9).find((l) => l.productId === "p1")?.qty).toBe(MAX_LINE_QTY);
    expect(removeLine(lines, "p2").map((l) => l.productId)).toEqual(["p1"]);
  });

  it("charges the outlet's own price when the catalog gives one", () => {
    const lines = addToCart([], { ...bread, outlet_price_minor: 399 });
    expect(lines[0].unitPriceMinor).toBe(399);
    expect(addToCart([], { ...bread, outlet_price_minor: null })[0].unitPriceMinor).toBe(420);
  });

  it("keeps the outlet's own price in the outlet's currency, not the product's", () => {
    const zurich = { ...bread, outlet_price_minor: 550, outlet_price_currency: "CHF" };
    expect(unitCurrency(zurich)).toBe("CHF");
    expect(addToCart([], zurich)[0]).toMatchObject({ unitPriceMinor: 550, currency: "CHF" });
    // No own price: the product's price in the product's currency.
    expect(unitCurrency({ ...bread, outlet_price_minor: null, outlet_price_currency: null })).toBe("EUR");
    expect(addToCart([], { ...bread, outlet_price_minor: null })[0].currency).toBe("EUR");
  });

  it("does not change the array it was given", () => {
    const lines = addToCart([], bread);
    const copy = structuredClone(lines);
    setQty(lines, "p1", 3);
    addToCart(lines, bread);
    expect(lines).toEqual(copy);
  });
});

describe("cart math as displayed", () => {
  it("sums line totals in minor units", () => {
    const lines = setQty(addToCart(addToCart([], bread), milk), "p2", 3);
    expect(lineTotal(lines[1])).toBe(387);
    const totals = cartTotals(lines);
    expect(totals).toEqual({ lines: 2, items: 4, totalMinor: 807, currency: "EUR" });
    expect(formatMoney(totals.totalMinor, "EUR", "en-IE")).toBe("€8.07");
  });

  it("adds ten-cent items exactly", () => {
    const dime = { id: "d", sku: "D", name: "Sweet", price_minor: 10, currency: "EUR" };
    const lines = setQty(addToCart([], dime), "d", 3);
    expect(formatMoney(cartTotals(lines).totalMinor, "EUR", "en-IE")).toBe("€0.30");
  });

  it("is empty without lines", () => {
    expect(cartTotals([])).toEqual({ lines: 0, items: 0, totalMinor: 0, currency: null });
  });

  it("works out change and what is still due", () => {
    expect(changeDue(807, 1000)).toEqual({ changeMinor: 193, stillDueMinor: 0 });
    expect(changeDue(807, 500)).toEqual({ changeMinor: 0, stillDueMinor: 307 });
    expect(changeDue(807, 807)).toEqual({ changeMinor: 0, stillDueMinor: 0 });
    expect(changeDue(807, null)).toEqual({ changeMinor: 0, stillDueMinor: 807 });
  });
});

describe("stock warnings", () => {
  const line = setQty(addToCart([], bread), "p1", 5)[0];
  it("warns when a line asks for more than is available", () => {
    expect(stockWarning(line, 3)).toEqual({ available: 3, short: 2 });
    expect(stockWarning(line, -1)).toEqual({ available: 0, short: 5 });
  });
  it("is quiet when there is enough, or stock is unknown", () => {
    expect(stockWarning(line, 5)).toBeNull();
    expect(stockWarning(line, undefined)).toBeNull();
    expect(stockWarning(line, null)).toBeNull();
  });
});

describe("the sale request", () => {
  it("is the API's body, cash amount being what was handed over", () => {
    const lines = addToCart(addToCart([], bread), milk, 2);
    expect(saleBody("id-1", "o1", lines, singleTender("cash", 1000))).toEqual({
      id: "id-1",
      outlet_id: "o1",
      lines: [
        { product_id: "p1", qty: 1 },
        { product_id: "p2", qty: 2 },
      ],
      tenders: [{ kind: "cash", amount_minor: 1000 }],
    });
  });

  it("carries the quote's signed tax when there is one, and nothing otherwise", () => {
    const lines = addToCart([], bread);
    expect(saleBody("id-2", "o1", lines, singleTender("cash", 500), { taxQuote: "v1.abc.def" }).tax_quote).toBe("v1.abc.def");
    expect("tax_quote" in saleBody("id-3", "o1", lines, singleTender("cash", 500), { taxQuote: null })).toBe(false);
  });

  it("names the short lines of a 409 by product name", () => {
    const lines = addToCart(addToCart([], bread), milk, 2);
    expect(
      describeShortStock(
        [
          { product_id: "p1", requested: 9, available: 3 },
          { product_id: "p2", requested: 2, available: 0 },
          { product_id: "zz", requested: 1, available: 0 },
        ],
        lines,
      ),
    ).toEqual([
      "Sourdough loaf: only 3 in stock (you asked for 9)",
      "Whole milk 1 l: none in stock (you asked for 2)",
      "product zz: none in stock (you asked for 1)",
    ]);
  });
});
