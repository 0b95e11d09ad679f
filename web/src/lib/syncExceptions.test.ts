import { describe, expect, it } from "vitest";
import { findings, kindText, KNOWN_KINDS, listQuery, otherSales, registerLabel, type SyncException } from "./syncExceptions";

const base = (over: Partial<SyncException>): SyncException => ({
  id: 1,
  sale_id: "s1",
  outlet_id: "o1",
  receipt_number: "R1-OFF000001",
  kind: "price_changed",
  detail: "line 1 (Tea): sold at 250, the shelf price is 310",
  facts: [],
  created_at: "2026-12-07T10:00:00Z",
  sold_at: "2026-12-07T09:00:00Z",
  synced_at: "2026-12-07T10:00:00Z",
  register_id: "7d3f0c1e-0000-4000-8000-000000000001",
  register_name: "Counter",
  register_number: 1,
  currency: "EUR",
  total_minor: 750,
  resolved_at: null,
  resolved_by: null,
  resolved_by_name: null,
  note: null,
  ...over,
});

describe("sync exception kinds", () => {
  it("has plain words and what to do for every kind docs/offline.md lists", () => {
    expect(KNOWN_KINDS.sort()).toEqual(
      [
        "card_declined_after_sale",
        "cashier_unknown",
        "clock_ahead",
        "discount_unapproved",
        "over_offline_limits",
        "price_changed",
        "product_archived",
        "product_unknown",
        "receipt_number_reused",
        "shift_closed",
        "shift_unknown",
        "stock_short",
      ].sort(),
    );
    for (const kind of KNOWN_KINDS) {
      const text = kindText(kind);
      expect(text.title).not.toMatch(/_/);
      expect(text.todo.length).toBeGreaterThan(10);
    }
    expect(kindText("stock_short").todo).toMatch(/Count the shelf/);
  });
  it("still reads a kind it does not know", () => {
    expect(kindText("till_on_fire").title).toBe("till on fire");
  });
});

describe("findings", () => {
  it("shows the till's and the shelf's price as money, with the difference", () => {
    const e = base({ facts: [{ line: 1, name: "Earl Grey tea", sku: "T", qty: 3, sold_minor: 250, shelf_minor: 310 }] });
    expect(findings(e, "EUR", "en-IE")).toEqual(["Earl Grey tea × 3: the till charged €2.50 each, the shelf price is €3.10 (€1.80 less than the shelf price in all)"]);
    const one = base({ facts: [{ name: "Mug", qty: 1, sold_minor: 1300, shelf_minor: 1250 }] });
    expect(findings(one, "EUR", "en-IE")).toEqual(["Mug: the till charged €13.00, the shelf price is €12.50 (€0.50 more than the shelf price)"]);
  });
  it("uses the sale's currency (JPY has no minor digits)", () => {
    const e = base({ currency: "JPY", facts: [{ name: "Tea", qty: 1, sold_minor: 250, shelf_minor: 300 }] });
    expect(findings(e, "EUR", "en-IE")[0]).toContain("¥250");
  });
  it("says what stock is left, the limits, the missing cash and the clock", () => {
    expect(findings(base({ kind: "stock_short", facts: [{ product_id: "p", name: "Tea", qty: 3, on_hand_after: -2 }] }), "EUR", "en-IE")).toEqual([
      "Tea: 3 sold, stock after the sale −2",
    ]);
    const limits = base({
      kind: "over_offline_limits",
      facts: [
        { limit: "hours", hours: 30.2, allowed_hours: 24 },
        { limit: "sale", total_minor: 60000, allowed_minor: 50000 },
      ],
    });
    expect(findings(limits, "EUR", "en-IE")).toEqual(["Sent 30.2 h after the sale; the outlet allows 24 h offline", "A sale of €600.00; the outlet allows €500.00 offline"]);
    expect(findings(base({ kind: "shift_closed", facts: [{ shift_id: "x", cash_minor: 1234, closed_at: null }] }), "EUR", "en-IE")).toEqual([
      "€12.34 in cash is missing from the Z-report of the shift",
    ]);
    expect(findings(base({ kind: "discount_unapproved", facts: [{ discount_minor: 500, gross_minor: 1000, approval_bp: 2000 }] }), "EUR", "en-IE")).toEqual([
      "A discount of €5.00 on €10.00, above the 20 % a manager approves",
    ]);
    expect(findings(base({ kind: "clock_ahead", facts: [{ till_time: "2026-12-07T12:00:00Z", seconds_ahead: 3600 }] }), "EUR", "en-IE")[0]).toMatch(/60 min ahead$/);
    expect(findings(base({ kind: "cashier_unknown", facts: [{ recorded_under: "Robin Cashier", named_elsewhere: true }] }), "EUR", "en-IE")).toEqual([
      "The till named a user of another outlet; counted under Robin Cashier",
    ]);
  });
  it("says what a card declined after the sale leaves owed, and the card limits (ADR 0073)", () => {
    const declined = base({ kind: "card_declined_after_sale", facts: [{ owed_minor: 1250, decline_code: "not_enough_balance", reader_refs: ["saf_1"] }] });
    expect(findings(declined, "EUR", "en-IE")).toEqual(["€12.50 owed: the card was declined at capture (not enough balance)"]);
    const card = base({ kind: "over_offline_limits", facts: [{ limit: "card", card_minor: 2500 }, { limit: "card_sale", card_minor: 2500, allowed_minor: 2000 }] });
    expect(findings(card, "EUR", "en-IE")).toEqual([
      "A card payment of €25.00 taken offline; the outlet does not allow cards offline",
      "A card payment of €25.00 taken offline; the outlet allows €20.00 by card offline",
    ]);
  });
  it("falls back to the server's words when it kept no figures", () => {
    expect(findings(base({ facts: [] }))).toEqual(["line 1 (Tea): sold at 250, the shelf price is 310"]);
  });
  it("links the other sale that printed the same number", () => {
    const e = base({ kind: "receipt_number_reused", facts: [{ other_sale_ids: ["a"] }] });
    expect(findings(e)).toEqual(["One other sale printed the same number"]);
    expect(otherSales(e)).toEqual(["a"]);
    expect(otherSales(base({}))).toEqual([]);
  });
});

describe("the register and the query", () => {
  it("never shows a register's id", () => {
    expect(registerLabel(base({}))).toBe("Counter");
    expect(registerLabel(base({ register_name: null }))).toBe("Register 1");
    expect(registerLabel(base({ register_name: null, register_number: null }))).toBe("A register not known here");
    expect(registerLabel(base({ register_name: null, register_number: null, register_id: null }))).toBe("No register");
  });
  it("lists open ones oldest first, the others newest first", () => {
    expect(listQuery("open", "", 0, 50)).toEqual({ state: "open", order: "oldest", limit: 50 });
    expect(listQuery("resolved", "o1", 9, 50)).toEqual({ state: "resolved", order: "newest", limit: 50, outlet_id: "o1", after: 9 });
  });
});
