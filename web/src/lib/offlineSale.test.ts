import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { closeOfflineDb, openOfflineDb } from "./offlineDb";
import { checkOfflineCard, checkOfflineSale, lastOfflineSequence, offlineReceiptNumber, OfflineRefused, takeOfflineSale, type OfflineLimits, type OfflineSaleRequest, type TillContext } from "./offlineSale";
import { PricingError, type CatalogPrice } from "./pricing";

const HOUR = 3_600_000;
let dbCount = 0;
const freshDb = () => `offline-sale-test-${++dbCount}`;

const till: TillContext = { outletId: "outlet-1", registerId: "reg-1", registerNumber: 3, shiftId: "shift-1", cashierId: "user-7" };
const prices: Record<string, CatalogPrice> = {
  mug: { product_id: "mug", sku: "MUG", name: "Mug", category_id: "c1", price_minor: 1250, currency: "EUR", tax_class: "standard" },
  tea: { product_id: "tea", sku: "TEA", name: "Tea", category_id: null, price_minor: 399, currency: "EUR", tax_class: "reduced" },
};
const settings = {
  currency: "EUR",
  tax_rates_bp: { standard: 2000, reduced: 500 },
  prices_include_tax: true,
  rounding_mode: "half_up" as const,
  cash_rounding_minor: 5,
  discount_approval_bp: 2000,
  offline_max_hours: 24,
  offline_max_sale_minor: 50_000,
};
const NOW = Date.parse("2026-12-01T10:00:00Z");

function request(extra: Partial<OfflineSaleRequest> = {}): OfflineSaleRequest {
  return {
    lines: [{ product_id: "mug", qty: 2 }, { product_id: "tea", qty: 1, discount: { kind: "percent", value: 1000 } }],
    prices,
    tenders: [{ kind: "cash", amount_minor: 5000 }],
    settings,
    till,
    offlineSinceMs: NOW - HOUR,
    now: () => NOW,
    ...extra,
  };
}

describe("offline receipt numbers", () => {
  it("are R<register>-OFF<6-9 digits>", () => {
    expect(offlineReceiptNumber(3, 1)).toBe("R3-OFF000001");
    expect(offlineReceiptNumber(12, 1_234_567)).toBe("R12-OFF1234567");
    expect(() => offlineReceiptNumber(3, 0)).toThrow(RangeError);
    expect(() => offlineReceiptNumber(1000, 1)).toThrow(RangeError);
    expect(() => offlineReceiptNumber(3, 1_000_000_000)).toThrow(RangeError);
  });
});

describe("taking a sale offline", () => {
  it("builds the OfflineSaleIn body that adds up as the server checks it", async () => {
    const db = await openOfflineDb(freshDb());
    const { body, queued } = await takeOfflineSale(request({ id: "11111111-1111-4111-8111-111111111111" }), db);
    expect(body.receipt_number).toBe("R3-OFF000001");
    expect(body).toMatchObject({ outlet_id: "outlet-1", register_id: "reg-1", shift_id: "shift-1", cashier_id: "user-7", currency: "EUR", prices_include_tax: true, sold_at: "2026-12-01T10:00:00.000Z" });
    // 2 x 12.50 + 3.99 less 10 % (0.40) = 28.59; cash rounds to 28.60
    expect(body.total_minor).toBe(2859);
    expect(body.lines.map((l) => [l.total_minor, l.discount_minor, l.tax_minor])).toEqual([[2500, 0, 417], [359, 40, 17]]);
    expect(body.tax_minor).toBe(434);
    expect(body.rounding_minor).toBe(1);
    expect(body.tenders).toEqual([{ kind: "cash", amount_minor: 2860, tendered_minor: 5000 }]);
    expect(body.change_minor).toBe(2140);
    // the server's own checks (schemas.py OfflineSaleIn._adds_up)
    for (const l of body.lines) expect(l.total_minor).toBe(l.unit_price_minor * l.qty - l.discount_minor);
    expect(body.tenders.reduce((a, t) => a + t.amount_minor, 0)).toBe(body.total_minor + body.rounding_minor);
    expect(queued).toMatchObject({ id: body.id, status: "pending", created_at: NOW, attempts: 0 });
    expect(await db.count("queue")).toBe(1);
  });

  it("numbers each register's sales in sequence, and a reload carries on", async () => {
    const name = freshDb();
    let db = await openOfflineDb(name);
    const a = await takeOfflineSale(request(), db);
    const b = await takeOfflineSale(request(), db);
    const other = await takeOfflineSale(request({ till: { ...till, registerId: "reg-2", registerNumber: 4 } }), db);
    expect([a.body.receipt_number, b.body.receipt_number, other.body.receipt_number]).toEqual(["R3-OFF000001", "R3-OFF000002", "R4-OFF000001"]);
    await closeOfflineDb(name); // the page reloads
    db = await openOfflineDb(name);
    expect(await lastOfflineSequence("reg-1", db)).toBe(2);
    expect((await takeOfflineSale(request(), db)).body.receipt_number).toBe("R3-OFF000003");
  });

  it("never gives a number twice, with two tabs taking sales at once", async () => {
    const name = freshDb();
    const tabA = await openOfflineDb(name);
    // a second connection to the same database, as another tab has
    const { openDB } = await import("idb");
    const tabB = (await openDB(name)) as unknown as typeof tabA;
    const taken = await Promise.all(Array.from({ length: 40 }, (_, i) => takeOfflineSale(request(), i % 2 ? tabA : tabB)));
    const numbers = taken.map((t) => t.body.receipt_number);
    expect(new Set(numbers).size).toBe(40);
    expect(numbers.slice().sort()).toEqual(Array.from({ length: 40 }, (_, i) => offlineReceiptNumber(3, i + 1)));
    expect(await tabA.count("queue")).toBe(40);
    tabB.close();
  });

  it("takes no number when the sale is refused or does not add up", async () => {
    const db = await openOfflineDb(freshDb());
    await expect(takeOfflineSale(request({ tenders: [{ kind: "cash", amount_minor: 100 }] }), db)).rejects.toThrow(PricingError);
    await expect(takeOfflineSale(request({ tenders: [{ kind: "card", amount_minor: 2859 }] }), db)).rejects.toThrow(/Card payments cannot be taken/);
    expect(await lastOfflineSequence("reg-1", db)).toBe(0);
    const first = await takeOfflineSale(request({ id: "22222222-2222-4222-8222-222222222222" }), db);
    await expect(takeOfflineSale(request({ id: "22222222-2222-4222-8222-222222222222" }), db)).rejects.toMatchObject({ code: "already_taken" });
    expect(await lastOfflineSequence("reg-1", db)).toBe(1);
    expect(first.body.receipt_number).toBe("R3-OFF000001");
  });
});

describe("the outlet's offline limits", () => {
  const base: { limits: typeof settings; till: TillContext; totalMinor: number; tenderKinds: string[]; offlineSinceMs: number | null; nowMs: number } = {
    limits: settings,
    till,
    totalMinor: 1000,
    tenderKinds: ["cash"],
    offlineSinceMs: NOW - HOUR,
    nowMs: NOW,
  };
  const refusal = (extra: Partial<typeof base> & { limits?: typeof settings }) => {
    try {
      checkOfflineSale({ ...base, ...extra });
      return null;
    } catch (e) {
      expect(e).toBeInstanceOf(OfflineRefused);
      return (e as OfflineRefused).code;
    }
  };

  it("allow a cash sale within them", () => {
    expect(refusal({})).toBeNull();
    expect(refusal({ totalMinor: 50_000, offlineSinceMs: NOW - 24 * HOUR })).toBeNull();
    expect(refusal({ offlineSinceMs: null })).toBeNull();
    expect(refusal({ totalMinor: 10 ** 9, limits: { ...settings, offline_max_sale_minor: 0 } })).toBeNull();
  });

  it("refuse past the longest time offline, a sale too large, a card, no register, an outlet that never sells offline", () => {
    expect(refusal({ offlineSinceMs: NOW - 24 * HOUR - 1 })).toBe("offline_too_long");
    expect(refusal({ totalMinor: 50_001 })).toBe("sale_too_large");
    expect(refusal({ tenderKinds: ["cash", "card"] })).toBe("card_offline");
    expect(refusal({ till: { ...till, registerId: null, registerNumber: null } })).toBe("no_register");
    expect(refusal({ limits: { ...settings, offline_max_hours: 0 } })).toBe("never_offline");
  });

  it("say why in words", () => {
    expect(() => checkOfflineSale({ ...base, offlineSinceMs: NOW - 30 * HOUR, formatMoney: (m) => `€${m / 100}` })).toThrow(
      "The till has been offline for 30 h; this outlet allows 24 h. No more sales until it is back online and its sales are synced.",
    );
    expect(() => checkOfflineSale({ ...base, totalMinor: 60_000, formatMoney: (m) => `€${m / 100}` })).toThrow(/A sale of €600 is above the €500 this outlet allows offline/);
  });

  it("count the offline time from the oldest unsynced sale when it is older (a reload forgot nothing)", async () => {
    const db = await openOfflineDb(freshDb());
    await takeOfflineSale(request({ now: () => NOW - 23 * HOUR }), db);
    await expect(takeOfflineSale(request({ offlineSinceMs: null, now: () => NOW + 2 * HOUR }), db)).rejects.toMatchObject({ code: "offline_too_long" });
    await expect(takeOfflineSale(request({ lines: [{ product_id: "mug", qty: 50 }], tenders: [{ kind: "cash", amount_minor: 70_000 }] }), db)).rejects.toMatchObject({
      code: "sale_too_large",
    });
  });

  it("refuse a sale the cash rounding takes to nothing (the server takes no zero tender)", async () => {
    const db = await openOfflineDb(freshDb());
    const tiny = { ...prices, pin: { ...prices.tea, product_id: "pin", price_minor: 2 } };
    await expect(takeOfflineSale(request({ prices: tiny, lines: [{ product_id: "pin", qty: 1 }], tenders: [{ kind: "cash", amount_minor: 5 }] }), db)).rejects.toMatchObject({
      code: "nothing_to_pay",
    });
    expect(await lastOfflineSequence("reg-1", db)).toBe(0);
  });

  it("refuse a discount that needs a manager, unless a manager is logged in", async () => {
    const db = await openOfflineDb(freshDb());
    const big = request({ lines: [{ product_id: "mug", qty: 1, discount: { kind: "percent", value: 5000 } }] });
    await expect(takeOfflineSale(big, db)).rejects.toMatchObject({ code: "discount_needs_manager" });
    expect((await takeOfflineSale({ ...big, managerPresent: true }, db)).body.lines[0].discount_minor).toBe(625);
  });
});

describe("deferred card capture offline (ADR 0073)", () => {
  const cardLimits = {
    ...settings,
    offline_card_allowed: true,
    card_reader_url: "http://reader.test/nexo",
    offline_card_max_sale_minor: 3000,
    offline_card_max_device_minor: 5000,
  };
  const refusal = (limits: OfflineLimits, kinds: string[], card: number, pending: number) => {
    try {
      checkOfflineCard(limits, kinds, card, pending);
      return "ok";
    } catch (e) {
      return (e as OfflineRefused).code;
    }
  };

  it("takes a card within the outlet's limits, per sale and per till, and says why not otherwise", () => {
    expect(refusal(cardLimits, ["card"], 3000, 2000)).toBe("ok");
    expect(refusal(cardLimits, ["card"], 3001, 0)).toBe("card_too_large");
    expect(refusal(cardLimits, ["card"], 2000, 3500)).toBe("card_device_limit");
    expect(refusal(settings, ["card"], 100, 0)).toBe("card_offline");
    expect(refusal({ ...cardLimits, card_reader_url: "" }, ["card"], 100, 0)).toBe("card_offline");
    expect(refusal(cardLimits, ["card", "cash"], 100, 0)).toBe("card_offline");
    expect(() => checkOfflineCard(cardLimits, ["card"], 3001, 0, (m) => `€${m / 100}`)).toThrow("A card payment of €30.01 is above the €30 this outlet allows by card");
  });

  it("queues the card with the reader's reference, and counts it against the till's limit until it is sent", async () => {
    const db = await openOfflineDb(freshDb());
    const cardRequest = (amount: number) =>
      request({ settings: cardLimits, lines: [{ product_id: "mug", qty: 2 }], tenders: [{ kind: "card", amount_minor: amount, reader_ref: "saf_0123456789" }] });
    const taken = await takeOfflineSale(cardRequest(2500), db);
    expect(taken.body.tenders).toEqual([{ kind: "card", amount_minor: 2500, tendered_minor: 2500, reader_ref: "saf_0123456789" }]);
    expect(taken.body.change_minor).toBe(0);
    // 2500 held; another 2500 reaches the per-till 5000, a third would pass it.
    await takeOfflineSale(cardRequest(2500), db);
    await expect(takeOfflineSale(cardRequest(2500), db)).rejects.toMatchObject({ code: "card_device_limit" });
    db.close();
  });
});
