import { describe, expect, it } from "vitest";
import { addToCart, cartBody, cartKey, describeDiscount, linesFromQuote, parseDiscount, saleBody, singleTender, type Quote } from "./cart";
import { formatMoney, parseMoney } from "./money";

const bread = { id: "p1", sku: "DEMO-0001", name: "Sourdough loaf", price_minor: 420, currency: "EUR" };
const milk = { id: "p2", sku: "DEMO-0007", name: "Whole milk 1 l", price_minor: 129, currency: "EUR" };
const eur = (minor: number) => formatMoney(minor, "EUR", "en-IE");

describe("typed discounts", () => {
  it("reads percentages as basis points", () => {
    expect(parseDiscount("percent", "10", "loyalty", "EUR", parseMoney)).toEqual({ discount: { kind: "percent", value: 1000, reason: "loyalty" } });
    expect(parseDiscount("percent", "12.5", " damaged ", "EUR", parseMoney)).toEqual({ discount: { kind: "percent", value: 1250, reason: "damaged" } });
    expect(parseDiscount("percent", "7,25 %", "staff", "EUR", parseMoney)).toEqual({ discount: { kind: "percent", value: 725, reason: "staff" } });
    expect(parseDiscount("percent", "100", "free", "EUR", parseMoney)).toEqual({ discount: { kind: "percent", value: 10_000, reason: "free" } });
  });

  it("reads amounts as minor units with the money parser", () => {
    expect(parseDiscount("amount", "1.50", "dent", "EUR", parseMoney)).toEqual({ discount: { kind: "amount", value: 150, reason: "dent" } });
    expect(parseDiscount("amount", "3", "dent", "JPY", parseMoney)).toEqual({ discount: { kind: "amount", value: 3, reason: "dent" } });
  });

  it("says what is wrong instead of guessing", () => {
    expect(parseDiscount("percent", "10", "  ", "EUR", parseMoney)).toHaveProperty("problem", expect.stringContaining("reason"));
    expect(parseDiscount("percent", "101", "x", "EUR", parseMoney)).toHaveProperty("problem", expect.stringContaining("100 %"));
    expect(parseDiscount("percent", "0", "x", "EUR", parseMoney)).toHaveProperty("problem", expect.stringContaining("more than 0"));
    expect(parseDiscount("percent", "1.234", "x", "EUR", parseMoney)).toHaveProperty("problem", expect.stringContaining("not a percentage"));
    expect(parseDiscount("percent", "ten", "x", "EUR", parseMoney)).toHaveProperty("problem");
    expect(parseDiscount("amount", "abc", "x", "EUR", parseMoney)).toHaveProperty("problem", expect.stringContaining("not an amount"));
    expect(parseDiscount("amount", "0", "x", "EUR", parseMoney)).toHaveProperty("problem", expect.stringContaining("more than zero"));
  });

  it("describes a discount for the cart", () => {
    expect(describeDiscount({ kind: "percent", value: 1000, reason: "" }, eur)).toBe("10 %");
    expect(describeDiscount({ kind: "percent", value: 1250, reason: "" }, eur)).toBe("12.5 %");
    expect(describeDiscount({ kind: "percent", value: 1205, reason: "" }, eur)).toBe("12.05 %");
    expect(describeDiscount({ kind: "amount", value: 150, reason: "" }, eur)).toBe("€1.50");
  });
});

describe("request bodies with discounts", () => {
  it("sends line and cart discounts, the register, and leaves out what is not there", () => {
    let lines = addToCart(addToCart([], bread), milk, 2);
    lines = lines.map((l) => (l.productId === "p1" ? { ...l, discount: { kind: "percent" as const, value: 2500, reason: "day old" } } : l));
    const cart = { kind: "amount" as const, value: 100, reason: "loyalty" };
    expect(cartBody("o1", lines, { registerId: "till-2", discount: cart })).toEqual({
      outlet_id: "o1",
      register_id: "till-2",
      lines: [
        { product_id: "p1", qty: 1, discount: { kind: "percent", value: 2500, reason: "day old" } },
        { product_id: "p2", qty: 2 },
      ],
      discount: { kind: "amount", value: 100, reason: "loyalty" },
    });
    expect(cartBody("o1", lines, { registerId: null, discount: null })).not.toHaveProperty("register_id");
    expect(cartBody("o1", lines)).not.toHaveProperty("discount");
  });

  it("makes the sale body with card tokens only on cards", () => {
    const lines = addToCart([], bread);
    expect(saleBody("s1", "o1", lines, singleTender("card", 420, "pm_card_visa"), { registerId: "r1" })).toEqual({
      id: "s1",
      outlet_id: "o1",
      register_id: "r1",
      lines: [{ product_id: "p1", qty: 1 }],
      tenders: [{ kind: "card", amount_minor: 420, card_token: "pm_card_visa" }],
    });
    expect(singleTender("cash", 500, "pm_card_visa")).toEqual([{ kind: "cash", amount_minor: 500 }]);
    expect(singleTender("card", 500, null)).toEqual([{ kind: "card", amount_minor: 500 }]);
  });

  it("changes the cart key when a quantity or a discount changes", () => {
    const one = addToCart([], bread);
    const two = addToCart(one, bread);
    const d = { kind: "percent" as const, value: 1000, reason: "x" };
    expect(cartKey(one, null)).toBe(cartKey(addToCart([], bread), undefined));
    expect(cartKey(one, null)).not.toBe(cartKey(two, null));
    expect(cartKey(one, null)).not.toBe(cartKey(one, d));
    expect(cartKey(one, null)).not.toBe(cartKey([{ ...one[0], discount: d }], null));
  });

  it("rebuilds a parked cart's lines from its quote", () => {
    const quote = {
      currency: "EUR",
      lines: [
        { line_no: 1, product_id: "p2", sku: "DEMO-0007", name: "Whole milk 1 l", qty: 3, unit_price_minor: 129, gross_minor: 387, discount_minor: 0, tax_rate_bp: 500, tax_minor: 18, total_minor: 387 },
        { line_no: 2, product_id: "p1", sku: "DEMO-0001", name: "Sourdough loaf", qty: 1, unit_price_minor: 420, gross_minor: 420, discount_minor: 42, tax_rate_bp: 500, tax_minor: 18, total_minor: 378 },
      ],
    } as Quote;
    const lines = linesFromQuote(
      { lines: [{ product_id: "p2", qty: 3 }, { product_id: "p1", qty: 1, discount: { kind: "percent", value: 1000, reason: "x" } }] },
      quote,
    );
    expect(lines).toEqual([
      { productId: "p2", sku: "DEMO-0007", name: "Whole milk 1 l", unitPriceMinor: 129, currency: "EUR", qty: 3, discount: null },
      { productId: "p1", sku: "DEMO-0001", name: "Sourdough loaf", unitPriceMinor: 420, currency: "EUR", qty: 1, discount: { kind: "percent", value: 1000, reason: "x" } },
    ]);
  });
});
