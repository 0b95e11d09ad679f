import { describe, expect, it } from "vitest";
import {
  allocate,
  discountsNeedingApproval,
  divRound,
  mulDivRound,
  policyAt,
  priceCart,
  PricingError,
  roundToIncrement,
  settle,
  taxBands,
  type CartLineIn,
  type CatalogPrice,
  type Discount,
  type PricingPolicy,
  type TenderIn,
} from "./pricing";
import vectorFile from "./pricing.vectors.json";

interface Vector {
  name: string;
  /** the sale's moment, for a policy with a tax schedule */
  at?: string;
  policy: PricingPolicy;
  prices: Record<string, CatalogPrice>;
  lines: CartLineIn[];
  cart_discount: Discount | null;
  tenders: TenderIn[];
  expected: { error: string } | { cart: Record<string, unknown> & { lines: Record<string, unknown>[] }; settlement: Record<string, unknown> };
}

const vectors = (vectorFile as unknown as { vectors: Vector[] }).vectors;

function outcome(v: Vector): unknown {
  let cart;
  try {
    cart = priceCart(v.lines, v.prices, v.at ? policyAt(v.policy, new Date(v.at)) : v.policy, v.cart_discount);
  } catch (e) {
    if (e instanceof PricingError) return { error: e.message };
    throw e;
  }
  const got: Record<string, unknown> = {
    cart: {
      currency: cart.currency,
      prices_include_tax: cart.prices_include_tax,
      lines: cart.lines.map((l) => ({
        line_no: l.line_no,
        product_id: l.product_id,
        qty: l.qty,
        unit_price_minor: l.unit_price_minor,
        tax_rate_bp: l.tax_rate_bp,
        gross_minor: l.gross_minor,
        line_discount_minor: l.line_discount_minor,
        cart_discount_minor: l.cart_discount_minor,
        discount_minor: l.discount_minor,
        tax_minor: l.tax_minor,
        net_minor: l.net_minor,
        total_minor: l.total_minor,
      })),
      total_minor: cart.total_minor,
      tax_minor: cart.tax_minor,
      subtotal_minor: cart.subtotal_minor,
      gross_minor: cart.gross_minor,
      discount_minor: cart.discount_minor,
      items: cart.items,
      tax_bands: taxBands(cart),
      needs_approval: discountsNeedingApproval(cart, v.policy),
    },
  };
  try {
    const s = settle(cart.total_minor, v.tenders, v.policy.cash_rounding_minor);
    got.settlement = {
      tenders: s.tenders.map((t) => ({ kind: t.kind, amount_minor: t.amount_minor, tendered_minor: t.tendered_minor })),
      tendered_minor: s.tendered_minor,
      change_minor: s.change_minor,
      rounding_minor: s.rounding_minor,
      due_minor: s.due_minor,
    };
  } catch (e) {
    if (!(e instanceof PricingError)) throw e;
    got.settlement = { error: e.message };
  }
  return got;
}

describe("pricing.ts gives the server's figures (shared vectors from pos_sales.domain)", () => {
  it("has a few hundred varied vectors", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(300);
    const kinds = new Set(vectors.map((v) => ("error" in v.expected ? "refused" : v.policy.prices_include_tax ? "inclusive" : "exclusive")));
    expect(kinds).toEqual(new Set(["refused", "inclusive", "exclusive"]));
    expect(new Set(vectors.map((v) => v.policy.rounding_mode))).toEqual(new Set(["half_up", "half_even", "down", "up"]));
  });

  it("has date-switch vectors: the old rate the second before the outlet's midnight, the new one from it", () => {
    const rate = (name: string) => {
      const v = vectors.find((x) => x.name === name)!;
      return (v.expected as unknown as { cart: { lines: { tax_rate_bp: number }[] } }).cart.lines.map((l) => l.tax_rate_bp);
    };
    expect(rate("date-switch-second-before-new-year-incl")).toEqual([2000, 500]);
    expect(rate("date-switch-new-year-midnight-incl")).toEqual([2100, 700]);
    expect(rate("date-switch-second-after-new-year-excl")).toEqual([2100, 700]);
    expect(rate("date-switch-july-excl")).toEqual([2300, 700]);
  });

  it.each(vectors.map((v) => [v.name, v] as const))("%s", (_name, v) => {
    expect(outcome(v)).toEqual(v.expected);
  });

  it("never yields a non-integer amount", () => {
    for (const v of vectors) {
      const text = JSON.stringify(outcome(v));
      for (const m of text.matchAll(/"(\w+_minor)":(-?[\d.e+]+)/g)) expect(Number.isInteger(Number(m[2])), `${v.name} ${m[1]}`).toBe(true);
    }
  });
});

describe("the arithmetic", () => {
  it("rounds each way", () => {
    expect([divRound(5, 2, "half_up"), divRound(5, 2, "half_even"), divRound(7, 2, "half_even"), divRound(5, 2, "down"), divRound(4, 3, "up")]).toEqual([3, 2, 4, 2, 2]);
    expect(() => divRound(-1, 2)).toThrow(RangeError);
    expect(() => divRound(1, 2, "sideways" as never)).toThrow(RangeError);
  });

  it("stays exact past 2^53 (BigInt only there)", () => {
    const a = 900_719_925_474_099;
    expect(mulDivRound(a, 10_000, 12_000, "half_up")).toBe(Number((BigInt(a) * 10_000n * 2n + 12_000n) / 24_000n));
    expect(divRound(Number.MAX_SAFE_INTEGER, 3, "down")).toBe(3_002_399_751_580_330);
    expect(allocate(10 ** 11, [10 ** 11, 3 * 10 ** 10, 7])).toEqual([76_923_076_919, 23_076_923_076, 5]);
  });

  it("allocates exactly, ties to the earlier line", () => {
    expect(allocate(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocate(0, [5, 5])).toEqual([0, 0]);
    expect(allocate(7, [0, 0])).toEqual([0, 0]);
  });

  it("rounds cash to the increment", () => {
    expect([roundToIncrement(1232, 5), roundToIncrement(1233, 5), roundToIncrement(1233, 0)]).toEqual([1230, 1235, 1233]);
  });
});
