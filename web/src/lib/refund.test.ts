import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import {
  anythingLeft,
  cashBackMinor,
  clampQty,
  describeRefundError,
  estimateRefundMinor,
  giveBackText,
  isPending,
  lineRefundMinor,
  mayResend,
  refundableLines,
  refundBody,
  refundProblem,
  type SaleLine,
} from "./refund";

const line = (line_no: number, qty: number, total_minor: number, refunded_qty = 0, name = `Item ${line_no}`): SaleLine => ({
  line_no,
  product_id: `p${line_no}`,
  name,
  qty,
  unit_price_minor: Math.round(total_minor / qty),
  total_minor,
  tax_minor: 0,
  refunded_qty,
});

describe("refundableLines", () => {
  it("shows sold, refunded and what is left per line", () => {
    const lines = refundableLines({ lines: [line(1, 2, 680, 1, "Oat flat white"), line(2, 3, 750)] });
    expect(lines).toEqual([
      { lineNo: 1, name: "Oat flat white", sold: 2, refunded: 1, left: 1, unitPriceMinor: 340 },
      { lineNo: 2, name: "Item 2", sold: 3, refunded: 0, left: 3, unitPriceMinor: 250 },
    ]);
    expect(anythingLeft(lines)).toBe(true);
  });
  it("treats a missing refunded_qty as none and never shows a negative left", () => {
    const [a, b] = refundableLines({ lines: [{ ...line(1, 2, 100), refunded_qty: undefined }, line(2, 1, 100, 5)] });
    expect(a.left).toBe(2);
    expect(b.left).toBe(0);
    expect(anythingLeft([b])).toBe(false);
  });
});

describe("clampQty", () => {
  it("holds a typed quantity to whole units between 0 and what is left", () => {
    expect(clampQty(3, 2)).toBe(2);
    expect(clampQty(-1, 2)).toBe(0);
    expect(clampQty(1.7, 2)).toBe(1);
    expect(clampQty(Number.NaN, 2)).toBe(0);
    expect(clampQty(1, 0)).toBe(0);
  });
});

describe("lineRefundMinor", () => {
  it("gives back exactly the line's total however the units are split", () => {
    // 3 units for 1000: 333 + 334 + 333 (cumulative shares, half up).
    const first = lineRefundMinor(1000, 3, 0, 1);
    const second = lineRefundMinor(1000, 3, 1, 1);
    const third = lineRefundMinor(1000, 3, 2, 1);
    expect([first, second, third]).toEqual([333, 334, 333]);
    expect(first + second + third).toBe(1000);
    expect(lineRefundMinor(1000, 3, 0, 3)).toBe(1000);
    expect(lineRefundMinor(1000, 3, 1, 2)).toBe(667);
  });
  it("is zero for no units and never more than what is left", () => {
    expect(lineRefundMinor(680, 2, 0, 0)).toBe(0);
    expect(lineRefundMinor(680, 2, 1, 5)).toBe(340);
  });
  it("is an integer for every split", () => {
    for (let qty = 1; qty <= 7; qty++) {
      for (let before = 0; before < qty; before++) {
        const v = lineRefundMinor(999, qty, before, 1);
        expect(Number.isInteger(v)).toBe(true);
      }
    }
  });
});

describe("estimateRefundMinor", () => {
  it("adds the chosen lines only", () => {
    const sale = { lines: [line(1, 2, 680), line(2, 1, 250)] };
    expect(estimateRefundMinor(sale, { 1: { qty: 1, restock: true }, 2: { qty: 0, restock: true } })).toBe(340);
    expect(estimateRefundMinor(sale, { 1: { qty: 2, restock: true }, 2: { qty: 1, restock: false } })).toBe(930);
    expect(estimateRefundMinor(sale, {})).toBe(0);
  });
});

describe("refundProblem", () => {
  const lines = refundableLines({ lines: [line(1, 2, 680, 1, "Oat flat white")] });
  it("asks for a quantity, refuses more than is left, asks for a reason", () => {
    expect(refundProblem(lines, {}, "faulty")).toMatch(/Choose how many/);
    expect(refundProblem(lines, { 1: { qty: 2, restock: true } }, "faulty")).toBe("Only 1 of Oat flat white can still be refunded.");
    expect(refundProblem(lines, { 1: { qty: 1, restock: true } }, "  ")).toMatch(/reason/);
    expect(refundProblem(lines, { 1: { qty: 1, restock: true } }, "faulty")).toBe("");
  });
});

describe("refundBody", () => {
  it("sends the chosen lines in order, with restock, reason, destination, register and approval", () => {
    const body = refundBody(
      "id-1",
      { 2: { qty: 1, restock: false }, 1: { qty: 1, restock: true }, 3: { qty: 0, restock: true } },
      { reason: " faulty ", destination: "cash", registerId: "reg-1", approvalToken: "tok" },
    );
    expect(body).toEqual({
      id: "id-1",
      reason: "faulty",
      lines: [
        { line_no: 1, qty: 1, restock: true },
        { line_no: 2, qty: 1, restock: false },
      ],
      destination: "cash",
      register_id: "reg-1",
      approved_by: "tok",
    });
  });
  it("leaves out a missing register and approval (a manager needs none)", () => {
    const body = refundBody("id-2", { 1: { qty: 2, restock: true } }, { reason: "x", destination: "original", registerId: null, approvalToken: null });
    expect(body).not.toHaveProperty("register_id");
    expect(body).not.toHaveProperty("approved_by");
  });
});

describe("the slip", () => {
  it("says what to give back per tender", () => {
    const slip = { currency: "EUR", total_minor: 1000, tenders: [{ kind: "card", amount_minor: 600 }, { kind: "cash", amount_minor: 400 }] };
    expect(cashBackMinor(slip)).toBe(400);
    const text = giveBackText(slip);
    expect(text).toContain("goes back to the card");
    expect(text).toMatch(/Give back €4\.00 in cash/);
  });
  it("says when there is nothing to give back", () => {
    expect(giveBackText({ currency: "EUR", total_minor: 0, tenders: [] })).toMatch(/Nothing to give back/);
  });
});

describe("refund errors", () => {
  it("resends after no answer or a plain 5xx, never after PENDING or a refusal", () => {
    expect(mayResend(new ApiError(0, "no answer"))).toBe(true);
    expect(mayResend(new ApiError(503, "payments down", { detail: "payments down" }))).toBe(true);
    const pending = new ApiError(503, "in progress", { detail: "in progress", status: "PENDING" });
    expect(mayResend(pending)).toBe(false);
    expect(isPending(pending)).toBe(true);
    expect(mayResend(new ApiError(422, "too many"))).toBe(false);
    expect(mayResend(new Error("x"))).toBe(false);
  });
  it("puts each refusal in words with what to do", () => {
    expect(describeRefundError(new ApiError(422, "line 1 (Oat flat white): only 1 of 2 left to refund"))).toBe(
      "The refund was refused: line 1 (Oat flat white): only 1 of 2 left to refund. Nothing was given back: lower the quantities (or correct the refund) and try again.",
    );
    expect(describeRefundError(new ApiError(409, "everything on this sale was already refunded"))).toMatch(/cannot be refunded.*already refunded.*Nothing was given back/);
    expect(describeRefundError(new ApiError(403, "a manager must approve this refund"))).toMatch(/manager has to approve/);
    expect(describeRefundError(new ApiError(503, "x", { status: "PENDING" }))).toMatch(/Do not give anything back yet/);
    expect(describeRefundError(new ApiError(0, "timeout"))).toMatch(/retry the same refund/);
  });
});
