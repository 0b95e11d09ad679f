import { describe, expect, it } from "vitest";
import { declineReason, roundCash, splitTender, splitTenders } from "./tender";

describe("split tender", () => {
  it("shows what remains in cash and the change from the cash part only", () => {
    // €12.34 total, €10 on the card: €2.34 in cash.
    expect(splitTender(1234, 1000, null)).toMatchObject({ cardMinor: 1000, cashDueMinor: 234, remainingMinor: 234, changeMinor: 0, ready: false });
    expect(splitTender(1234, 1000, 200)).toMatchObject({ remainingMinor: 34, changeMinor: 0, ready: false });
    expect(splitTender(1234, 1000, 500)).toMatchObject({ remainingMinor: 0, changeMinor: 266, ready: true, problem: "" });
    expect(splitTender(1234, 1000, 234)).toMatchObject({ remainingMinor: 0, changeMinor: 0, ready: true });
  });

  it("refuses a card part of nothing, or of the whole total or more", () => {
    expect(splitTender(1234, null, 2000)).toMatchObject({ cardMinor: null, ready: false, changeMinor: 0 });
    expect(splitTender(1234, 0, 2000).problem).toMatch(/more than zero/);
    expect(splitTender(1234, 1234, 0).problem).toMatch(/less than the total/);
    expect(splitTender(1234, 5000, 0)).toMatchObject({ cardMinor: null, ready: false });
  });

  it("rounds the cash part to the outlet's cash increment, halves up", () => {
    expect(roundCash(234, 5)).toBe(235);
    expect(roundCash(232, 5)).toBe(230);
    expect(roundCash(237, 5)).toBe(235);
    expect(roundCash(238, 5)).toBe(240);
    expect(roundCash(234, 0)).toBe(234);
    expect(splitTender(1234, 1000, 300, 5)).toMatchObject({ cashDueMinor: 235, changeMinor: 65, ready: true });
  });

  it("makes the tenders: card first, then the cash handed over", () => {
    expect(splitTenders(1000, 500, "pm_card_visa")).toEqual([
      { kind: "card", amount_minor: 1000, card_token: "pm_card_visa" },
      { kind: "cash", amount_minor: 500 },
    ]);
    expect(splitTenders(1000, 500)).toEqual([
      { kind: "card", amount_minor: 1000 },
      { kind: "cash", amount_minor: 500 },
    ]);
  });

  it("names a decline in words", () => {
    expect(declineReason("insufficient_funds")).toBe("insufficient funds");
    expect(declineReason("some_new_code")).toBe("some new code");
    expect(declineReason(null, "card declined")).toBe("card declined");
  });
});
