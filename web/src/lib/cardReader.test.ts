import { describe, expect, it } from "vitest";
import { amountToMinor, payOnReader, paymentRequestText, readPaymentResponse, ReaderRefused } from "./cardReader";

const request = { url: "http://reader.test/nexo", transactionId: "0b6c1a2e-1111-4222-8333-444455556666", amountMinor: 1234, currency: "EUR", storeAndForward: true, saleId: "R3" };

function success(reference: string, amount: number, online: boolean) {
  return {
    SaleToPOIResponse: {
      MessageHeader: { MessageType: "Response" },
      PaymentResponse: {
        Response: { Result: "Success", AdditionalResponse: online ? "" : "offline=true&storedPayment=true" },
        POIData: { POITransactionID: { TransactionID: reference, TimeStamp: "2026-12-07T10:00:00.000Z" } },
        PaymentResult: { OnlineFlag: online, AmountsResp: { Currency: "EUR", AuthorizedAmount: amount }, PaymentInstrumentData: { CardData: { MaskedPan: "411111******1111", PaymentBrand: "visa" } } },
      },
    },
  };
}

describe("the card reader's Terminal API", () => {
  it("writes the amount as an exact decimal of the currency and allows store-and-forward offline", () => {
    const text = paymentRequestText(request, new Date("2026-12-07T10:00:00Z"));
    expect(text).toContain('"RequestedAmount":12.34');
    expect(text).toContain('"SaleToAcquirerData":"storeAndForward=allowed"');
    const parsed = JSON.parse(text);
    expect(parsed.SaleToPOIRequest.MessageHeader.MessageCategory).toBe("Payment");
    expect(parsed.SaleToPOIRequest.PaymentRequest.SaleData.SaleTransactionID.TransactionID).toBe(request.transactionId);
    expect(paymentRequestText({ ...request, amountMinor: 5, storeAndForward: false })).toContain('"RequestedAmount":0.05');
    expect(paymentRequestText({ ...request, amountMinor: 1500, currency: "JPY" })).toContain('"RequestedAmount":1500');
    expect(paymentRequestText({ ...request, storeAndForward: false })).not.toContain("SaleToAcquirerData");
  });

  it("reads amounts back in minor units, and nothing that is not a whole minor unit", () => {
    expect(amountToMinor(12.34, "EUR")).toBe(1234);
    expect(amountToMinor(0.1 + 0.2, "EUR")).toBe(30);
    expect(amountToMinor(12.345, "EUR")).toBeNull();
    expect(amountToMinor("12.34", "EUR")).toBeNull();
  });

  it("keeps the reference of a payment the reader stored offline", () => {
    const approval = readPaymentResponse(success("saf_0123456789", 12.34, false), request);
    expect(approval).toEqual({ reference: "saf_0123456789", stored: true, brand: "visa", maskedPan: "411111******1111" });
  });

  it("says why the reader refused, and refuses an approval for another amount", () => {
    const refused = { SaleToPOIResponse: { PaymentResponse: { Response: { Result: "Failure", ErrorCondition: "Refusal" } } } };
    expect(() => readPaymentResponse(refused, request)).toThrow(/declined on the reader/);
    const unreachable = { SaleToPOIResponse: { PaymentResponse: { Response: { Result: "Failure", ErrorCondition: "UnreachableHost" } } } };
    expect(() => readPaymentResponse(unreachable, request)).toThrow(/cannot reach its bank/);
    expect(() => readPaymentResponse(success("psp_abcdef", 12.35, true), request)).toThrow(/another amount/);
    expect(() => readPaymentResponse(success("saf_abcdef", 12.34, false), { ...request, storeAndForward: false })).toThrow(ReaderRefused);
  });

  it("posts to the reader and turns no answer into a message", async () => {
    const seen: string[] = [];
    const ok = (async (url: string, init: RequestInit) => {
      seen.push(`${url} ${String(init.body).length > 0}`);
      return new Response(JSON.stringify(success("psp_abcdef", 12.34, true)));
    }) as unknown as typeof fetch;
    expect((await payOnReader(request, ok)).stored).toBe(false);
    expect(seen).toEqual(["http://reader.test/nexo true"]);
    const down = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    await expect(payOnReader(request, down)).rejects.toThrow(/did not answer/);
  });
});
