import { describe, expect, it } from "vitest";
import { CashSplitTender, type CashSale } from "./cashSplit.svelte";
import { formatMoney } from "./money";

// Cash and split at the pay dialog: what the cashier typed, what it means and what is
// missing before anything is sent. Amounts worked out by hand.

const eur = (minor: number) => formatMoney(minor, "EUR");

function tender(sale: Partial<CashSale> = {}) {
  const state: CashSale = { currency: "EUR", totalMinor: 1998, cashRoundingMinor: 5, sandbox: false, ...sale };
  return new CashSplitTender(() => state);
}

describe("cash", () => {
  it("the total is rounded to the cash step; change from what was handed over", () => {
    const cash = tender();
    expect(cash.cashDue).toBe(2000); // 19.98 to 0.05 steps
    expect(cash.quick(false)[0]).toBe(2000); // "Exact"
    cash.cashText = "50";
    expect(cash.enough).toBe(true);
    expect(cash.change.changeMinor).toBe(3000);
    expect(cash.cashTenders()).toEqual({ tenders: [{ kind: "cash", amount_minor: 5000 }] });
  });

  it("short, nothing typed, or not an amount: said so, back to the cash input", () => {
    const cash = tender();
    expect(cash.cashTenders()).toEqual({ problem: "Type the cash received, or tap one of the amounts.", focus: "cash" });
    cash.cashText = "12.50";
    expect(cash.enough).toBe(false);
    expect(cash.change.stillDueMinor).toBe(750);
    expect(cash.cashTenders()).toEqual({ problem: `That is ${eur(750)} short of the total. Take more cash, or change the amount.`, focus: "cash" });
    cash.cashText = "twenty";
    expect(cash.invalidCash).toBe(true);
    expect(cash.cashTenders()).toEqual({ problem: "“twenty” is not an amount. Type the cash received, like 20 or 12.50.", focus: "cash" });
  });

  it("a quick amount is typed as the shop's decimal; the dialog opening clears it", () => {
    const cash = tender();
    cash.setCash(2000);
    expect(cash.cashText).toBe("20.00");
    cash.reset();
    expect(cash.cashText).toBe("");
    expect(cash.tendered).toBeNull();
  });
});

describe("split", () => {
  it("split evenly: parts that add up to the total, a fresh split card then cash", () => {
    const cash = tender({ totalMinor: 1001, cashRoundingMinor: 0 });
    expect(cash.splitEvenly(3)).toBe(true);
    expect(cash.parts.map((p) => [p.kind, p.text])).toEqual([
      ["card", "3.34"],
      ["cash", "3.34"],
      ["card", "3.33"],
    ]);
    expect(cash.split.remainingMinor).toBe(0);
    expect(cash.splitEvenly(1)).toBe(false); // a split needs two parts
    expect(cash.parts).toHaveLength(3);
  });

  it("a part added takes what is in no part yet; a split keeps at least two parts", () => {
    const cash = tender({ totalMinor: 3000, cashRoundingMinor: 0 });
    cash.splitEvenly(2);
    cash.parts[0].text = "10";
    expect(cash.split.remainingMinor).toBe(500);
    expect(cash.addPart("card")).toBe(2);
    expect(cash.parts[2].text).toBe("5.00");
    expect(cash.split.remainingMinor).toBe(0);
    expect(cash.addPart("cash")).toBe(3);
    expect(cash.parts[3].text).toBe(""); // nothing left to take
    expect(cash.removePart(3)).toBe(true);
    expect(cash.removePart(2)).toBe(true);
    expect(cash.removePart(1)).toBe(false);
    expect(cash.parts).toHaveLength(2);
  });

  it("a part that is not an amount, or the cash not typed: said so, back to that input", () => {
    const cash = tender({ totalMinor: 3000, cashRoundingMinor: 0 });
    cash.splitEvenly(2);
    cash.parts[1].text = "abc";
    expect(cash.splitTenders()).toEqual({ problem: "Part 2 is not an amount: type it like 12.50.", focus: 1 });
    cash.parts[1].text = "15";
    expect(cash.splitTenders()).toEqual({ problem: `Type the cash received for the cash part (${eur(1500)}).`, focus: "cash" });
    cash.cashText = "a lot";
    expect(cash.splitTenders()).toEqual({ problem: "“a lot” is not an amount. Type the cash received, like 20 or 12.50.", focus: "cash" });
  });

  it("the cash part rounded to the cash step, change from the cash; the tenders card first with its test card", () => {
    const cash = tender({ totalMinor: 2998, cashRoundingMinor: 5, sandbox: true });
    cash.splitEvenly(2); // 14.99 card, 14.99 cash
    cash.parts[0].token = "tok_mastercard";
    expect(cash.quick(true)[0]).toBe(1500);
    expect(cash.cashDueIn(true)).toBe(1500);
    cash.cashText = "20";
    expect(cash.split.changeMinor).toBe(500);
    expect(cash.splitTenders()).toEqual({
      tenders: [
        { kind: "card", amount_minor: 1499, card_token: "tok_mastercard" },
        { kind: "cash", amount_minor: 2000 },
      ],
    });
  });
});
