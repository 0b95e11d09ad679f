import { describe, expect, it } from "vitest";
import { saleBody, type CartLine, type SaleBody } from "./cart";
import { payOnReader } from "./cardReader";
import { ApiError } from "./errors";
import { PaymentFlow, type PayOrder } from "./payment.svelte";
import { CardTender, type CardPorts, type CardTill } from "./readerPayment.svelte";
import type { Receipt } from "./types";

// How the till takes cards at the pay dialog: the provider, the outlet's reader and the
// offline card limit from the settings the till kept, and a card on the reader through
// the real Terminal API code (cardReader.ts) against a fake reader on the LAN, as the
// payment flow runs it: approved, declined, or no answer.

const mug: CartLine = { productId: "mug", sku: "MUG", name: "Mug", unitPriceMinor: 1234, currency: "EUR", qty: 1, taxClass: "standard" };
const READER = "http://reader.test/nexo";

type ReaderAnswer = "approve" | "decline" | "unreachable";

class FakeShop {
  provider: string | Error = "sandbox";
  settings: ReturnType<CardPorts["keptSettings"]> = { card_reader_url: READER, offline_card_allowed: true, offline_card_max_sale_minor: 5000 };
  reader: ReaderAnswer = "approve";
  sentToReader: unknown[] = [];

  /** The reader on the LAN, answering the Terminal API as a real one does. */
  fetcher: typeof fetch = async (_url, init) => {
    if (this.reader === "unreachable") throw new TypeError("Failed to fetch");
    const request = JSON.parse(String(init?.body));
    this.sentToReader.push(request);
    const amount = request.SaleToPOIRequest.PaymentRequest.PaymentTransaction.AmountsReq;
    const answer =
      this.reader === "decline"
        ? { Response: { Result: "Failure", ErrorCondition: "Refusal" } }
        : {
            Response: { Result: "Success" },
            POIData: { POITransactionID: { TransactionID: "REF_0001", TimeStamp: "2026-12-07T10:00:00Z" } },
            PaymentResult: { OnlineFlag: true, AmountsResp: { Currency: amount.Currency, AuthorizedAmount: amount.RequestedAmount } },
          };
    return new Response(JSON.stringify({ SaleToPOIResponse: { PaymentResponse: answer } }));
  };

  ports(): CardPorts {
    return {
      provider: async () => {
        if (this.provider instanceof Error) throw this.provider;
        return this.provider;
      },
      keptSettings: () => this.settings,
      payOnReader: (request) => payOnReader(request, this.fetcher),
    };
  }
}

function tender(shop: FakeShop, till: Partial<CardTill> = {}): CardTender {
  const state: CardTill = { outletId: "outlet-1", currency: "EUR", registerNumber: 3, open: true, offline: false, ...till };
  return new CardTender(shop.ports(), () => state);
}

describe("how cards are taken", () => {
  it("the sandbox sends a test card, unless a reader asks for the card", async () => {
    const shop = new FakeShop();
    shop.settings = { card_reader_url: "" };
    const card = tender(shop);
    card.opened();
    await card.loadProvider();
    expect(card.sandbox).toBe(true);
    expect(card.cardOff).toBe(false);
    expect(card.token("tok_visa")).toBe("tok_visa");
    const withReader = tender(new FakeShop());
    await withReader.loadProvider();
    expect(withReader.readerUrl).toBe(READER);
    expect(withReader.token("tok_visa")).toBeNull();
  });

  it("a shop with cards switched off is cash only; a provider that cannot be read says so", async () => {
    const shop = new FakeShop();
    shop.provider = "none";
    const card = tender(shop);
    await card.loadProvider();
    expect(card.cardOff).toBe(true);
    expect(card.token("tok_visa")).toBeNull();
    shop.provider = new ApiError(0, "no answer");
    const unknown = tender(shop);
    await unknown.loadProvider();
    expect(unknown.provider).toBeNull();
    expect(unknown.providerError).toBe("No answer from the server while trying to find out how cards are taken. Check the network connection, then try again.");
  });

  it("the reader is only looked up while the dialog is open", () => {
    expect(tender(new FakeShop(), { open: false }).readerUrl).toBe("");
    expect(tender(new FakeShop(), { open: true }).readerUrl).toBe(READER);
  });

  it("offline, a card may be taken on the reader up to the shop's limit, when the shop allows it", () => {
    const shop = new FakeShop();
    expect(tender(shop, { offline: false }).offlineLimitMinor).toBeNull();
    expect(tender(shop, { offline: true }).offlineLimitMinor).toBe(5000);
    shop.settings = { card_reader_url: READER, offline_card_allowed: false, offline_card_max_sale_minor: 5000 };
    expect(tender(shop, { offline: true }).offlineLimitMinor).toBeNull();
    shop.settings = { card_reader_url: "", offline_card_allowed: true, offline_card_max_sale_minor: 5000 };
    expect(tender(shop, { offline: true }).offlineLimitMinor).toBeNull(); // no reader to keep it
  });
});

describe("a card on the reader, as the payment flow takes it", () => {
  function pay(shop: FakeShop) {
    const card = tender(shop);
    const posted: SaleBody[] = [];
    const paid: Receipt[] = [];
    const flow = new PaymentFlow(
      {
        postSale: async (body) => {
          posted.push(body);
          return { sale_id: body.id } as Receipt;
        },
        getSale: async () => {
          throw new ApiError(404, "no such sale");
        },
        sellOffline: async () => {
          throw new Error("not offline");
        },
        takeOnReader: (id, amountMinor) => card.takeOnReader(id, amountMinor),
        newId: () => "0b6c1a2e-1111-4222-8333-444455556666",
        sleep: async () => {},
      },
      { onpaid: (r) => void paid.push(r), onrefused: () => {} },
    );
    const order: PayOrder = {
      mode: "card",
      lines: [mug],
      offline: false,
      cardOff: card.cardOff,
      usesCard: true,
      approvalNeeded: false,
      isManager: false,
      reader: card.readerUrl !== "",
      tenders: () => [{ kind: "card", amount_minor: 1234 }],
      key: (t) => JSON.stringify(t),
      body: (id, t) => saleBody(id, "outlet-1", [mug], t),
    };
    return { flow, posted, paid, done: flow.pay(order) };
  }

  it("approved: the amount asked on the reader for the register, the sale posted with the reader's reference", async () => {
    const shop = new FakeShop();
    const { posted, paid, done } = pay(shop);
    await done;
    const asked = shop.sentToReader[0] as { SaleToPOIRequest: { MessageHeader: { SaleID: string }; PaymentRequest: { SaleData: Record<string, unknown>; PaymentTransaction: { AmountsReq: unknown } } } };
    expect(asked.SaleToPOIRequest.PaymentRequest.PaymentTransaction.AmountsReq).toEqual({ Currency: "EUR", RequestedAmount: 12.34 });
    expect(asked.SaleToPOIRequest.MessageHeader.SaleID).toBe("R3");
    expect(asked.SaleToPOIRequest.PaymentRequest.SaleData.SaleToAcquirerData).toBeUndefined(); // online: never kept on the reader
    expect(posted.map((b) => b.tenders)).toEqual([[{ kind: "card", amount_minor: 1234, reader_ref: "REF_0001" }]]);
    expect(paid).toHaveLength(1);
  });

  it("declined on the reader: said so, nothing posted", async () => {
    const shop = new FakeShop();
    shop.reader = "decline";
    const { flow, posted, paid, done } = pay(shop);
    await done;
    expect(flow.problem?.text).toBe("The card was declined on the reader. Nothing was charged. Ask for another card, or take cash.");
    expect(posted).toEqual([]);
    expect(paid).toEqual([]);
    expect(flow.pending).toBeNull();
  });

  it("the reader does not answer: said so, nothing posted", async () => {
    const shop = new FakeShop();
    shop.reader = "unreachable";
    const { flow, posted, done } = pay(shop);
    await done;
    expect(flow.problem?.text).toBe("The card reader did not answer. Check that it is on and connected, then try again; nothing is sold until it answers.");
    expect(posted).toEqual([]);
  });
});
