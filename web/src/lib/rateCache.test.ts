import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import type { CurrencyInfo } from "./foreignCash";
import { closeOfflineDb, openOfflineDb } from "./offlineDb";
import { OfflineRefused, takeOfflineSale, type OfflineSaleRequest } from "./offlineSale";
import type { CatalogPrice } from "./pricing";
import { cachedRates, offlineRateView, rateAgeDays, rememberRates, type RateView } from "./rateCache";

// Foreign cash offline (issue 16): the rates the till kept when it was online, their age,
// the refusals, and the tender queued for the server's offline sync.

let dbCount = 0;
const freshDb = () => `rate-cache-test-${++dbCount}`;
const DAY = 86_400_000;
const NOW = Date.parse("2026-12-07T10:00:00Z");

const EUR: CurrencyInfo = { code: "EUR", name: "Euro", minor_units: 2, cash_unit_minor: 1 };
const USD: CurrencyInfo = { code: "USD", name: "US Dollar", minor_units: 2, cash_unit_minor: 1 };
const CHF: CurrencyInfo = { code: "CHF", name: "Swiss Franc", minor_units: 2, cash_unit_minor: 5 };

function seen(currency: string, rate: string | null, reference_date: string | null, usable = true, source = "ecb"): RateView {
  return { currency, rate, source, reference_date, age_days: 0, stale: !usable, usable, detail: usable ? null : "stale" };
}

describe("the rate cache", () => {
  it("keeps the usable rates with source and date, and they survive a reload", async () => {
    const name = freshDb();
    const db = await openOfflineDb(name);
    await rememberRates("EUR", [seen("USD", "1.0500", "2026-12-04"), seen("GBP", null, null, false)], [EUR, USD], NOW, db);
    await closeOfflineDb(name); // a reload of the page
    const kept = await cachedRates("EUR", await openOfflineDb(name));
    expect(kept.rates).toEqual({ USD: { currency: "USD", rate: "1.0500", source: "ecb", reference_date: "2026-12-04", seen_at: NOW } });
    expect(Object.keys(kept.currencies).sort()).toEqual(["EUR", "USD"]);
    expect((await cachedRates("GBP", await openOfflineDb(name))).rates).toEqual({});
  });

  it("an unusable (stale) reading or an older sheet leaves the last good rate", async () => {
    const db = await openOfflineDb(freshDb());
    await rememberRates("EUR", [seen("USD", "1.0500", "2026-12-04")], [], NOW, db);
    await rememberRates("EUR", [seen("USD", "1.2000", "2026-11-20", false)], [], NOW + DAY, db);
    await rememberRates("EUR", [seen("USD", "1.0400", "2026-12-03")], [], NOW + DAY, db);
    expect((await cachedRates("EUR", db)).rates.USD).toMatchObject({ rate: "1.0500", reference_date: "2026-12-04", seen_at: NOW });
    await rememberRates("EUR", [seen("USD", "1.0600", "2026-12-07", true, "manual")], [], NOW + 2 * DAY, db);
    expect((await cachedRates("EUR", db)).rates.USD).toMatchObject({ rate: "1.0600", source: "manual", reference_date: "2026-12-07" });
  });

  it("ages a rate by whole UTC days, as the server counts it", () => {
    expect(rateAgeDays("2026-12-04", NOW)).toBe(3);
    expect(rateAgeDays("2026-12-07", NOW)).toBe(0);
    expect(rateAgeDays("2026-12-06", Date.parse("2026-12-07T00:00:01Z"))).toBe(1);
    expect(rateAgeDays("2026-12-04T15:30:00Z", NOW)).toBe(3);
  });

  it("shows the kept rate with its age; refuses it when older than the limit, missing, or the currency is not taken", () => {
    const cached = { currency: "USD", rate: "1.0500", source: "ecb", reference_date: "2026-12-04", seen_at: NOW };
    const view = offlineRateView({ code: "USD", accepted: ["USD"], cached, staleAfterDays: 3, nowMs: NOW });
    expect(view).toMatchObject({ rate: "1.0500", source: "ecb", reference_date: "2026-12-04", age_days: 3, usable: true, stale: false, detail: null });

    const stale = offlineRateView({ code: "USD", accepted: ["USD"], cached, staleAfterDays: 3, nowMs: NOW + DAY });
    expect(stale).toMatchObject({ age_days: 4, usable: false, stale: true });
    expect(stale.detail).toContain("the USD rate kept on this till (ECB rate of 2026-12-04) is 4 days old; this shop takes foreign cash at a rate up to 3 days old");

    const none = offlineRateView({ code: "USD", accepted: ["USD"], cached: undefined, staleAfterDays: 3, nowMs: NOW });
    expect(none).toMatchObject({ rate: null, usable: false, age_days: null });
    expect(none.detail).toContain("no USD rate kept from when it was online");

    expect(offlineRateView({ code: "USD", accepted: ["GBP"], cached, staleAfterDays: 3, nowMs: NOW }).detail).toContain("does not take USD cash");
  });
});

describe("a foreign-cash sale taken offline", () => {
  const prices: Record<string, CatalogPrice> = {
    scarf: { product_id: "scarf", sku: "SCARF", name: "Scarf", category_id: "c1", price_minor: 2500, currency: "EUR", tax_class: "standard" },
  };
  const settings = {
    currency: "EUR",
    tax_rates_bp: { standard: 2000 },
    prices_include_tax: true,
    rounding_mode: "half_up" as const,
    cash_rounding_minor: 5,
    discount_approval_bp: 2000,
    offline_max_hours: 24,
    offline_max_sale_minor: 50_000,
    accepted_currencies: ["USD", "CHF"],
    rates_stale_after_days: 3,
  };
  const usd = { currency: "USD", rate: "1.0500", source: "ecb", reference_date: "2026-12-04", seen_at: NOW };
  function request(extra: Partial<OfflineSaleRequest> = {}): OfflineSaleRequest {
    return {
      lines: [{ product_id: "scarf", qty: 1 }],
      prices,
      tenders: [{ kind: "foreign_cash", amount_minor: 3000, currency: "USD" }],
      foreign: { rate: usd, local: EUR, foreign: USD },
      settings,
      till: { outletId: "outlet-1", registerId: "reg-1", registerNumber: 3, shiftId: "shift-1", cashierId: "user-7" },
      offlineSinceMs: NOW - 3_600_000,
      now: () => NOW,
      ...extra,
    };
  }

  it("queues the foreign tender in the shape the server's offline sync takes, change in euros", async () => {
    const db = await openOfflineDb(freshDb());
    // 25.00 EUR at 1.0500 is 26.25 USD; 30 USD handed over: 3.75 USD back is 3.57 EUR
    // (the figures of tests/e2e/test_foreign_cash.py's offline sync, the server's arithmetic).
    const { body, queued } = await takeOfflineSale(request(), db);
    expect(body.tenders).toEqual([
      { kind: "foreign_cash", amount_minor: 2500, tendered_minor: 2857, currency: "USD", foreign_minor: 3000, rate: "1.0500", rate_source: "ecb", rate_as_of: "2026-12-04" },
    ]);
    expect([body.total_minor, body.rounding_minor, body.change_minor]).toEqual([2500, 0, 357]);
    expect((await db.getAll("queue")).map((q) => q.body.tenders)).toEqual([queued.body.tenders]);
  });

  it("what the foreign cash leaves is taken in outlet cash, with the cash rounding", async () => {
    const db = await openOfflineDb(freshDb());
    // 20 USD at 1.0500 pays 19.04 EUR (rounded down); 5.96 left rounds to 5.95 in cash.
    const { body } = await takeOfflineSale(
      request({ tenders: [{ kind: "foreign_cash", amount_minor: 2000, currency: "USD" }, { kind: "cash", amount_minor: 1000 }] }),
      db,
    );
    expect(body.tenders).toEqual([
      { kind: "foreign_cash", amount_minor: 1904, tendered_minor: 1904, currency: "USD", foreign_minor: 2000, rate: "1.0500", rate_source: "ecb", rate_as_of: "2026-12-04" },
      { kind: "cash", amount_minor: 595, tendered_minor: 1000 },
    ]);
    expect([body.rounding_minor, body.change_minor]).toEqual([-1, 405]);
    // The server's check: the tenders pay total + rounding, change is handed over less paid.
    expect(body.tenders.reduce((n, t) => n + t.amount_minor, 0)).toBe(body.total_minor + body.rounding_minor);
    const short = takeOfflineSale(request({ tenders: [{ kind: "foreign_cash", amount_minor: 2000, currency: "USD" }, { kind: "cash", amount_minor: 500 }] }), db);
    await expect(short).rejects.toMatchObject({ code: "foreign_short" });
  });

  it("refuses a stale kept rate, no kept rate, a currency not taken, and foreign cash with a card; nothing is queued", async () => {
    const db = await openOfflineDb(freshDb());
    const dayLater = { now: () => NOW + DAY, offlineSinceMs: NOW + DAY - 3_600_000 };
    const stale = takeOfflineSale(request(dayLater), db);
    await expect(stale).rejects.toBeInstanceOf(OfflineRefused);
    await expect(stale).rejects.toMatchObject({ code: "foreign_stale_rate", message: expect.stringContaining("is 4 days old") });
    await expect(takeOfflineSale(request({ foreign: null }), db)).rejects.toMatchObject({
      code: "foreign_no_rate",
      message: expect.stringContaining("USD cash cannot be taken offline: this till has no USD rate kept"),
    });
    const gbp = { rate: { ...usd, currency: "GBP", rate: "0.8500" }, local: EUR, foreign: { ...USD, code: "GBP" } };
    await expect(takeOfflineSale(request({ foreign: gbp, tenders: [{ kind: "foreign_cash", amount_minor: 3000, currency: "GBP" }] }), db)).rejects.toMatchObject({
      code: "foreign_not_accepted",
    });
    const withCard = request({ tenders: [{ kind: "foreign_cash", amount_minor: 2000, currency: "USD" }, { kind: "card", amount_minor: 596, reader_ref: "R1234" }] });
    await expect(takeOfflineSale(withCard, db)).rejects.toMatchObject({ code: "card_offline" });
    // The server's own limit is what the till uses: a longer one takes the same rate.
    await expect(takeOfflineSale(request({ ...dayLater, settings: { ...settings, rates_stale_after_days: 4 } }), db)).resolves.toBeTruthy();
    expect(await db.count("queue")).toBe(1);
  });

  it("foreign cash in steps of its cash unit only", async () => {
    const db = await openOfflineDb(freshDb());
    const chf = { rate: { ...usd, currency: "CHF", rate: "0.9400" }, local: EUR, foreign: CHF };
    await expect(takeOfflineSale(request({ foreign: chf, tenders: [{ kind: "foreign_cash", amount_minor: 2502, currency: "CHF" }] }), db)).rejects.toThrow(
      /cannot have been handed over/,
    );
    const { body } = await takeOfflineSale(request({ foreign: chf, tenders: [{ kind: "foreign_cash", amount_minor: 2500, currency: "CHF" }] }), db);
    // 25.00 EUR at 0.94 is 23.50 CHF: 1.50 CHF back is 1.60 EUR (to the euro cent).
    expect(body.tenders[0]).toMatchObject({ amount_minor: 2500, foreign_minor: 2500, tendered_minor: 2660 });
    expect(body.change_minor).toBe(160);
  });
});
