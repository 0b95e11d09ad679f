import { describe, expect, it } from "vitest";
import { settle } from "./pricing";
import { evenAmounts, evenCounts, resizeKinds, splitPartTenders, summarizeSplit, type PartIn } from "./splitPay";

const money = (minor: number) => `€${(minor / 100).toFixed(2)}`;
const card = (amountMinor: number | null, cardToken?: string): PartIn => ({ kind: "card", amountMinor, cardToken });
const cash = (amountMinor: number | null): PartIn => ({ kind: "cash", amountMinor });

describe("split evenly", () => {
  it("adds up to the total exactly, parts differ by at most one minor unit, the first parts get the extra", () => {
    expect(evenAmounts(1001, 3)).toEqual([334, 334, 333]);
    expect(evenAmounts(1000, 3)).toEqual([334, 333, 333]);
    expect(evenAmounts(999, 3)).toEqual([333, 333, 333]);
    expect(evenAmounts(1250, 2)).toEqual([625, 625]);
    expect(evenAmounts(7, 10)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    for (let total = 0; total < 400; total += 7) {
      for (let n = 2; n <= 10; n++) {
        const parts = evenAmounts(total, n);
        expect(parts).toHaveLength(n);
        expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
        expect([...parts].sort((a, b) => b - a)).toEqual(parts); // larger ones first
      }
    }
  });

  it("refuses what is not an amount or a count", () => {
    expect(() => evenAmounts(-1, 2)).toThrow(RangeError);
    expect(() => evenAmounts(10.5, 2)).toThrow(RangeError);
    expect(() => evenAmounts(100, 0)).toThrow(RangeError);
  });

  it("offers 2 to 10 parts, never a part of nothing", () => {
    expect(evenCounts(1250)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(evenCounts(4)).toEqual([2, 3, 4]);
    expect(evenCounts(1)).toEqual([]);
  });

  it("keeps the kinds of the parts there, new parts are cards", () => {
    expect(resizeKinds(["card", "cash"], 3)).toEqual(["card", "cash", "card"]);
    expect(resizeKinds(["cash", "card", "cash"], 2)).toEqual(["cash", "card"]);
  });
});

describe("a split's summary", () => {
  it("card + card + cash, evenly in 3: the remaining is nothing, the cash part gives change", () => {
    const s = summarizeSplit(1001, [card(334), card(334), cash(333)], 500, 0, money);
    expect(s).toMatchObject({ assignedMinor: 1001, remainingMinor: 0, cardMinor: 668, cashDueMinor: 333, changeMinor: 167, stillToPayMinor: 0, ready: true, problem: "" });
  });

  it("says what is still in no part, or how much the parts are over", () => {
    const under = summarizeSplit(1000, [card(400), card(300)], null, 0, money);
    expect(under).toMatchObject({ remainingMinor: 300, ready: false });
    expect(under.problem).toBe("The parts add up to €7.00: €3.00 of the €10.00 is in no part yet.");
    const over = summarizeSplit(1000, [card(600), card(500)], null, 0, money);
    expect(over).toMatchObject({ remainingMinor: -100, ready: false });
    expect(over.problem).toBe("The parts add up to €11.00, €1.00 more than the €10.00 to pay. Lower a part.");
  });

  it("names the part that is not an amount, missing or zero", () => {
    expect(summarizeSplit(1000, [card(500), { kind: "cash", amountMinor: null, invalid: true }], 500, 0, money).problem).toMatch(/^Part 2 is not an amount/);
    const s = summarizeSplit(1000, [card(null), cash(0)], 500, 0, money);
    expect(s.partProblems).toEqual(["Type the amount of part 1.", "Part 2 must be more than zero: remove it if it is not needed."]);
    expect(s.problem).toBe("Type the amount of part 1.");
  });

  it("needs two parts", () => {
    expect(summarizeSplit(1000, [card(1000)], null, 0, money).problem).toMatch(/at least two parts/);
  });

  it("asks for the cash received, and says how much is short", () => {
    expect(summarizeSplit(1000, [card(600), cash(400)], null, 0, money)).toMatchObject({ stillToPayMinor: 400, ready: false, problem: "Type the cash received for the cash part (€4.00)." });
    const short = summarizeSplit(1000, [card(600), cash(400)], 300, 0, money);
    expect(short).toMatchObject({ stillToPayMinor: 100, changeMinor: 0, ready: false });
    expect(short.problem).toBe("That is €1.00 short of the cash part (€4.00). Take more cash.");
  });

  it("two cards and no cash: nothing to hand over", () => {
    expect(summarizeSplit(1250, [card(625), card(625)], null, 0, money)).toMatchObject({ hasCash: false, cashDueMinor: 0, ready: true });
  });

  it("rounds the cash share to the outlet's increment, halves up, as the server does", () => {
    // €10.01 in 3 with 5-cent cash: €3.34 + €3.34 by card, the €3.33 cash share is due as €3.35.
    const s = summarizeSplit(1001, [card(334), card(334), cash(333)], 335, 5, money);
    expect(s).toMatchObject({ cashShareMinor: 333, cashDueMinor: 335, roundingMinor: 2, changeMinor: 0, ready: true });
    expect(summarizeSplit(1001, [card(334), card(334), cash(333)], 333, 5, money).problem).toBe("That is €0.02 short of the cash part (€3.35). Take more cash.");
    // two cash parts are one cash share: rounded once
    expect(summarizeSplit(1002, [card(334), cash(334), cash(334)], 1000, 5, money)).toMatchObject({ cashShareMinor: 668, cashDueMinor: 670, changeMinor: 330 });
    expect(summarizeSplit(1002, [card(1000), cash(2)], 5, 5, money).problem).toMatch(/rounds to nothing/);
  });

  it("agrees with settle() (the server's rules) on the cash due and the change", () => {
    const cases: [number, PartIn[], number, number][] = [
      [1001, [card(334), card(334), cash(333)], 500, 5],
      [1001, [card(334), card(334), cash(333)], 333, 0],
      [1250, [cash(417), card(417), cash(416)], 2000, 5],
      [999, [card(100), card(200), card(300), cash(399)], 400, 10],
    ];
    for (const [total, parts, given, rounding] of cases) {
      const s = summarizeSplit(total, parts, given, rounding, money);
      expect(s.ready).toBe(true);
      const settled = settle(total, splitPartTenders(parts, given), rounding);
      expect(settled.change_minor).toBe(s.changeMinor);
      expect(settled.rounding_minor).toBe(s.roundingMinor);
      expect(settled.tenders.find((t) => t.kind === "cash")?.amount_minor).toBe(s.cashDueMinor);
    }
  });
});

describe("a split's tenders", () => {
  it("each card part in order with its test card, then one cash tender with the cash handed over", () => {
    expect(splitPartTenders([card(334, "pm_card_visa"), cash(333), card(334, "pm_card_mastercard")], 500)).toEqual([
      { kind: "card", amount_minor: 334, card_token: "pm_card_visa" },
      { kind: "card", amount_minor: 334, card_token: "pm_card_mastercard" },
      { kind: "cash", amount_minor: 500 },
    ]);
    expect(splitPartTenders([card(625), card(625)], null)).toEqual([
      { kind: "card", amount_minor: 625 },
      { kind: "card", amount_minor: 625 },
    ]);
  });
});
