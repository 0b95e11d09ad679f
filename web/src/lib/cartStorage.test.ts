import { describe, expect, it } from "vitest";
import type { CartLine } from "./cart";
import { loadCart, saveCart } from "./cartStorage";

function store() {
  const map = new Map<string, string>();
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
}

const mug: CartLine = { productId: "mug", sku: "MUG", name: "Mug", unitPriceMinor: 1250, currency: "EUR", qty: 2, taxClass: "standard" };

describe("the till's cart across a reload", () => {
  it("comes back per outlet with its id and discount", () => {
    const s = store();
    saveCart(s, "a", { lines: [mug], id: "cart-1", discount: { kind: "percent", value: 1000, reason: "staff" } });
    expect(loadCart(s, "a")).toEqual({ lines: [mug], id: "cart-1", discount: { kind: "percent", value: 1000, reason: "staff" } });
    expect(loadCart(s, "b")).toEqual({ lines: [] });
  });

  it("an empty cart is forgotten", () => {
    const s = store();
    saveCart(s, "a", { lines: [mug], id: "cart-1", discount: null });
    saveCart(s, "a", { lines: [], id: "cart-2", discount: null });
    expect(s.map.size).toBe(0);
    expect(loadCart(s, "a")).toEqual({ lines: [] });
  });

  it("unreadable or missing storage gives an empty cart, and saving never throws", () => {
    const s = store();
    s.map.set("pos.cart.a", "{not json");
    s.map.set("pos.cartMeta.a", "[1]");
    expect(loadCart(s, "a")).toEqual({ lines: [] });
    expect(loadCart(null, "a")).toEqual({ lines: [] });
    const full = { ...store(), setItem: () => { throw new Error("QuotaExceededError"); } };
    expect(() => saveCart(full, "a", { lines: [mug], id: "c", discount: null })).not.toThrow();
  });
});
