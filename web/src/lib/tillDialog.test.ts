import { describe, expect, it } from "vitest";
import { closeDialog, NO_DIALOG, shownReceipt, type TillDialog } from "./tillDialog";
import type { Receipt } from "./types";

describe("the till's one dialog", () => {
  const receipt = { sale_id: "s1", receipt_number: "A-1" } as unknown as Receipt;

  it("closing the open dialog leaves none open", () => {
    expect(closeDialog({ name: "pay" }, "pay")).toEqual(NO_DIALOG);
    expect(closeDialog({ name: "discount", target: "cart" }, "discount")).toEqual(NO_DIALOG);
  });

  it("a late close of another dialog keeps the one on show (the receipt after paying)", () => {
    const shown: TillDialog = { name: "receipt", receipt };
    expect(closeDialog(shown, "pay")).toBe(shown);
    expect(shownReceipt(closeDialog(shown, "pay"))).toBe(receipt);
  });

  it("the receipt is only on show in the receipt dialog", () => {
    expect(shownReceipt({ name: "receipt", receipt })).toBe(receipt);
    expect(shownReceipt({ name: "help" })).toBeNull();
  });
});
