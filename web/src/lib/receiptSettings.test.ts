import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import { describeMailError } from "./receiptMail";
import { emailProblem, formFrom, receiptPartsFrom, settingsWith, toLines, validateReceiptForm } from "./receiptSettings";

const pricing = { currency: "EUR", tax_rates_bp: { standard: 2000 }, prices_include_tax: true, rounding_mode: "half_up", cash_rounding_minor: 0, discount_approval_bp: 2000 };
const blank = formFrom({});

describe("receipt settings form", () => {
  it("round-trips the settings, one line per row, blank rows dropped", () => {
    const form = formFrom({ shop_name: "Corner Café", address: ["12 Quay St", "Galway"], tax_number: "IE123", receipt_header: ["Hi"], receipt_footer: ["Bye", "Thanks"] });
    expect(form.address).toBe("12 Quay St\nGalway");
    const edited = { ...form, address: "  12 Quay St \n\n Galway\r\n", footer: "Bye\n\nThanks\n" };
    const body = settingsWith(pricing, edited);
    expect(body).toMatchObject({ ...pricing, shop_name: "Corner Café", address: ["12 Quay St", "Galway"], tax_number: "IE123", receipt_header: ["Hi"], receipt_footer: ["Bye", "Thanks"] });
    // the pricing fields go back exactly as they came (sales replaces the whole document)
    expect(body.tax_rates_bp).toEqual({ standard: 2000 });
  });

  it("accepts an empty form (the outlet's name then heads the receipt)", () => {
    expect(validateReceiptForm(blank)).toEqual({});
    expect(settingsWith({}, blank)).toEqual({ shop_name: "", address: [], tax_number: "", receipt_header: [], receipt_footer: [] });
  });

  it("names every problem next to its field, with the limit", () => {
    const errors = validateReceiptForm({
      shopName: "x".repeat(81),
      address: "1\n2\n3\n4\n5",
      taxNumber: "T".repeat(41),
      header: "ok\n" + "y".repeat(121),
      footer: "a\nb\nc\nd\ne\nf\ng\nh\ni",
    });
    expect(errors.shopName).toBe("Shop name: at most 80 characters (it has 81).");
    expect(errors.address).toBe("Address: at most 4 lines (there are 5).");
    expect(errors.taxNumber).toBe("VAT/tax number: at most 40 characters (it has 41).");
    expect(errors.header).toBe("Header: line 2 is 121 characters; at most 120.");
    expect(errors.footer).toBe("Footer: at most 8 lines (there are 9).");
  });

  it("refuses control characters and a tax number over two lines", () => {
    expect(validateReceiptForm({ ...blank, shopName: "Bad\u0007bell" }).shopName).toMatch(/control/);
    expect(validateReceiptForm({ ...blank, taxNumber: "IE1\nIE2" }).taxNumber).toMatch(/one line/);
    expect(validateReceiptForm({ ...blank, footer: "ok\n\u0000" }).footer).toMatch(/control/);
  });

  it("toLines trims and drops blank rows", () => {
    expect(toLines(" a \r\n\n b ")).toEqual(["a", "b"]);
  });

  it("gives an offline receipt the outlet's shop, header and footer", () => {
    expect(receiptPartsFrom({ shop_name: "S", address: ["A"], tax_number: "T", receipt_header: ["H"], receipt_footer: ["F"] })).toEqual({
      shop: { name: "S", address: ["A"], tax_number: "T" },
      header: ["H"],
      footer: ["F"],
    });
    expect(receiptPartsFrom(null)).toEqual({ shop: { name: "", address: [], tax_number: "" }, header: [], footer: [] });
  });
});

describe("receipt by e-mail", () => {
  it("checks the address the cashier typed", () => {
    expect(emailProblem(" ann@example.org ")).toBeNull();
    expect(emailProblem("")).toBe("Type the customer's e-mail address.");
    expect(emailProblem("ann@example")).toBe('"ann@example" is not an e-mail address: type it as name@example.com.');
    expect(emailProblem("ann example@x.org")).not.toBeNull();
    expect(emailProblem("a@b.org\nBcc: c@d.org")).not.toBeNull();
  });

  it("says the server's words when the mail server is down or refuses the address", () => {
    const down = new ApiError(503, "The receipt was not sent: the mail server (127.0.0.1:2525) did not take the message: connection refused (is it running?). The sale is recorded; try again later or print the receipt.");
    expect(describeMailError(down)).toBe(down.detail);
    expect(describeMailError(new ApiError(422, "The receipt was not sent: the mail server refused the address x@y.org: 550 no such mailbox. Check the address"))).toMatch(/Check the address\.$/);
    expect(describeMailError(new ApiError(0, ""))).toMatch(/No answer from the server/);
  });
});
