import { describe, expect, it } from "vitest";
import { declineReason, roundCash } from "./tender";

describe("tender", () => {
  it("rounds the cash part to the outlet's cash increment, halves up", () => {
    expect(roundCash(234, 5)).toBe(235);
    expect(roundCash(232, 5)).toBe(230);
    expect(roundCash(237, 5)).toBe(235);
    expect(roundCash(238, 5)).toBe(240);
    expect(roundCash(234, 0)).toBe(234);
  });

  it("names a decline in words", () => {
    expect(declineReason("insufficient_funds")).toBe("insufficient funds");
    expect(declineReason("some_new_code")).toBe("some new code");
    expect(declineReason(null, "card declined")).toBe("card declined");
  });
});
