import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CartLine } from "./cart";
import { cachedOutletSettings, offlineQuote, refreshOutletSettings, tryOfflineQuote } from "./tillOffline";

// localStorage as a browser has it (the outlet's settings are kept there for offline).
const stored = new Map<string, string>();
Object.defineProperty(globalThis, "localStorage", {
  configurable: true,
  value: {
    getItem: (k: string) => stored.get(k) ?? null,
    setItem: (k: string, v: string) => void stored.set(k, String(v)),
    removeItem: (k: string) => void stored.delete(k),
  },
});

const OUTLET = "outlet-1";
const settings = {
  currency: "EUR",
  tax_rates_bp: { standard: 2000, reduced: 500 },
  prices_include_tax: true,
  rounding_mode: "half_up",
  cash_rounding_minor: 5,
  discount_approval_bp: 2000,
  offline_max_hours: 24,
  offline_max_sale_minor: 50_000,
};
const mug: CartLine = { productId: "mug", sku: "MUG", name: "Mug", unitPriceMinor: 1250, currency: "EUR", qty: 2, taxClass: "standard" };
const tea: CartLine = { productId: "tea", sku: "TEA", name: "Tea", unitPriceMinor: 399, currency: "EUR", qty: 1, taxClass: "reduced" };

describe("offlineQuote: the till prices the cart itself when the server cannot", () => {
  beforeEach(() => {
    stored.clear();
    stored.set(`pos.outletSettings.${OUTLET}`, JSON.stringify(settings));
  });

  it("gives the discounted total, tax and the outlet's cash rounding", () => {
    // Mug 2 x 12.50 with 10 % off the line, tea 3.99; then 1.00 off the cart.
    const lines = [{ ...mug, discount: { kind: "percent" as const, value: 1000, reason: "regular" } }, tea];
    const quote = offlineQuote(OUTLET, lines, { kind: "amount", value: 100, reason: "loyalty" });
    // 25.00 - 2.50 = 22.50; + 3.99 = 26.49; - 1.00 = 25.49 (shared 22.50 : 3.99).
    expect(quote.total_minor).toBe(2549);
    expect(quote.gross_minor).toBe(2899);
    expect(quote.discount_minor).toBe(350);
    expect(quote.lines.map((l) => l.total_minor)).toEqual([2165, 384]);
    // Prices include tax: 21.65 at 20 % holds 3.61, 3.84 at 5 % holds 0.18.
    expect(quote.lines.map((l) => l.tax_minor)).toEqual([361, 18]);
    expect(quote.tax).toEqual([
      { rate_bp: 500, net_minor: 366, tax_minor: 18 },
      { rate_bp: 2000, net_minor: 1804, tax_minor: 361 },
    ]);
    expect(quote.cash_rounding_minor).toBe(5);
    expect(quote.needs_approval).toEqual([]);
    expect(quote.items).toBe(3);
  });

  describe("with the outlet's tax schedule (ADR 0066)", () => {
    afterEach(() => {
      vi.useRealTimers();
      vi.unstubAllGlobals();
    });

    it("keeps the schedule read with the settings; a failed read of it keeps the one kept before", async () => {
      const entry = { tax_class: "standard", effective_from: "2027-01-01", starts_at: "2026-12-31T23:00:00Z", rate_bp: 2100, rate: "21.00", started: false, set_by: "m", set_by_name: "M", set_at: "2026-12-07T10:00:00Z" };
      let scheduleStatus = 200;
      let rounding = 5;
      vi.stubGlobal("fetch", async (url: string) =>
        url.endsWith("/tax-rates")
          ? new Response(JSON.stringify({ schedule: [entry] }), { status: scheduleStatus })
          : new Response(JSON.stringify({ ...settings, cash_rounding_minor: rounding }), { status: 200 }),
      );
      await refreshOutletSettings(OUTLET);
      expect(cachedOutletSettings(OUTLET)?.tax_schedule).toEqual([{ tax_class: "standard", starts_at: "2026-12-31T23:00:00Z", rate_bp: 2100 }]);
      scheduleStatus = 500;
      rounding = 10;
      await refreshOutletSettings(OUTLET);
      expect(cachedOutletSettings(OUTLET)?.cash_rounding_minor).toBe(10); // the settings read are kept
      expect(cachedOutletSettings(OUTLET)?.tax_schedule).toEqual([{ tax_class: "standard", starts_at: "2026-12-31T23:00:00Z", rate_bp: 2100 }]);
    });

    it("prices at the rate in effect when the sale is rung: the old rate a second before the outlet's midnight, the new one from it", () => {
      // 21 % from 1 January 2027 in Berlin: 2026-12-31T23:00:00Z.
      const scheduled = { ...settings, tax_schedule: [{ tax_class: "standard", starts_at: "2026-12-31T23:00:00Z", rate_bp: 2100 }] };
      stored.set(`pos.outletSettings.${OUTLET}`, JSON.stringify(scheduled));
      vi.useFakeTimers();
      vi.setSystemTime(new Date("2026-12-31T22:59:59Z"));
      const before = offlineQuote(OUTLET, [mug, tea], null);
      expect(before.lines.map((l) => l.tax_rate_bp)).toEqual([2000, 500]);
      expect(before.lines[0].tax_minor).toBe(417); // 25.00 incl. 20 %
      vi.setSystemTime(new Date("2026-12-31T23:00:01Z"));
      const after = offlineQuote(OUTLET, [mug, tea], null);
      expect(after.lines.map((l) => l.tax_rate_bp)).toEqual([2100, 500]);
      expect(after.lines[0].tax_minor).toBe(434); // 25.00 incl. 21 %
      expect(after.total_minor).toBe(before.total_minor);
    });
  });

  it("names a discount above the outlet's approval limit", () => {
    const quote = offlineQuote(OUTLET, [{ ...mug, discount: { kind: "percent", value: 5000, reason: "damaged" } }], null);
    expect(quote.total_minor).toBe(1250);
    expect(quote.needs_approval).toEqual(["line 1 discount 1250 of 2500"]);
  });

  it("says why it cannot price: no settings kept, or a line without its tax class", () => {
    expect(tryOfflineQuote(OUTLET, [{ ...mug, taxClass: undefined }], null)).toEqual({
      quote: null,
      error: "Mug was added without its tax class: remove it and add it again, or wait until the till is back online.",
    });
    stored.clear();
    const none = tryOfflineQuote(OUTLET, [mug], null);
    expect(none.quote).toBeNull();
    expect(none.error).toMatch(/has not loaded the outlet's tax settings/);
  });

  it("gives the pricing domain's words for a tax class the outlet has no rate for", () => {
    const none = tryOfflineQuote(OUTLET, [{ ...mug, taxClass: "luxury" }], null);
    expect(none).toEqual({ quote: null, error: "line 1: no tax rate configured for tax class 'luxury'" });
  });
});

describe("keepStorage: the queue is kept under storage pressure when the browser agrees", () => {
  it("asks once when not yet persisted, and reports the browser's answer", async () => {
    const { keepStorage } = await import("./offlineStatus.svelte");
    let asked = 0;
    const browser = (persisted: boolean, grants: boolean) => ({
      persisted: async () => persisted,
      persist: async () => {
        asked += 1;
        return grants;
      },
    });
    expect(await keepStorage(browser(true, false))).toBe(true);
    expect(asked).toBe(0);
    expect(await keepStorage(browser(false, true))).toBe(true);
    expect(await keepStorage(browser(false, false))).toBe(false);
    expect(asked).toBe(2);
    expect(await keepStorage(undefined)).toBeNull();
  });
});
