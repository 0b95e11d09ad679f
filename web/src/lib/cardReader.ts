// The shop's card reader on the LAN (ADR 0073): the till sends it a Terminal API
// PaymentRequest (nexo's SaleToPOIRequest, JSON over HTTP POST to the reader's /nexo)
// and reads the PaymentResponse. The reader's reference then travels with the card
// tender (`reader_ref`) and payments captures it: at once online, at the sync for a sale
// taken offline (store-and-forward: the reader keeps the card until its link is back).
//
// The protocol has amounts as decimal numbers in the currency's major unit; the till
// keeps integer minor units and writes the decimal into the JSON text itself (never a
// float), and checks the authorised amount back in minor units.

import { fractionDigits, toDecimalString } from "./money";

export interface ReaderRequest {
  /** the reader's address (the outlet's card_reader_url, e.g. https://192.168.1.50:8443/nexo) */
  url: string;
  /** one per payment: the sale's id (a repeat of it is answered as the first time) */
  transactionId: string;
  amountMinor: number;
  currency: string;
  /** the till is offline: the reader may keep the payment and capture it later */
  storeAndForward: boolean;
  /** identifies the till to the reader (the register) */
  saleId: string;
  timeoutMs?: number;
}

export interface ReaderApproval {
  reference: string;
  /** approved by the reader offline, stored: captured when the sale syncs */
  stored: boolean;
  brand: string;
  maskedPan: string;
}

/** The reader refused or could not take the payment; `message` says what to do. */
export class ReaderRefused extends Error {
  readonly condition: string;
  constructor(condition: string, message: string) {
    super(message);
    this.name = "ReaderRefused";
    this.condition = condition;
  }
}

/** The JSON text of the PaymentRequest (the amount written as an exact decimal). */
export function paymentRequestText(request: ReaderRequest, now: Date = new Date()): string {
  const saleData: Record<string, unknown> = {
    SaleTransactionID: { TransactionID: request.transactionId, TimeStamp: now.toISOString() },
  };
  if (request.storeAndForward) saleData.SaleToAcquirerData = "storeAndForward=allowed";
  const message = {
    SaleToPOIRequest: {
      MessageHeader: {
        ProtocolVersion: "3.0",
        MessageClass: "Service",
        MessageCategory: "Payment",
        MessageType: "Request",
        SaleID: request.saleId,
        ServiceID: request.transactionId.replace(/-/g, "").slice(0, 10),
        POIID: "pos-reader",
      },
      PaymentRequest: {
        SaleData: saleData,
        PaymentTransaction: { AmountsReq: { Currency: request.currency, RequestedAmount: "@AMOUNT@" } },
      },
    },
  };
  return JSON.stringify(message).replace('"@AMOUNT@"', toDecimalString(request.amountMinor, request.currency));
}

/** A decimal amount of the protocol as integer minor units (null if it is not one). */
export function amountToMinor(amount: unknown, currency: string): number | null {
  if (typeof amount !== "number" || !Number.isFinite(amount)) return null;
  const scaled = amount * 10 ** fractionDigits(currency);
  const minor = Math.round(scaled);
  return Math.abs(scaled - minor) < 1e-6 ? minor : null;
}

const CONDITIONS: Record<string, string> = {
  Refusal: "The card was declined on the reader. Nothing was charged. Ask for another card, or take cash.",
  UnreachableHost: "The card reader cannot reach its bank and may not keep this payment. Nothing was charged. Take cash.",
  Aborted: "The payment was cancelled on the reader. Nothing was charged.",
  Busy: "The card reader is busy with another payment. Wait a moment and try again.",
};

/** Read a PaymentResponse: the approval, or ReaderRefused with the reason. */
export function readPaymentResponse(body: unknown, request: Pick<ReaderRequest, "amountMinor" | "currency" | "storeAndForward">): ReaderApproval {
  const response = (body as { SaleToPOIResponse?: { PaymentResponse?: Record<string, any> } } | null)?.SaleToPOIResponse?.PaymentResponse;
  if (!response?.Response) throw new ReaderRefused("MessageFormat", "The card reader gave an answer the till does not understand. Nothing was charged. Take cash.");
  if (response.Response.Result !== "Success") {
    const condition = String(response.Response.ErrorCondition ?? "Failure");
    throw new ReaderRefused(condition, CONDITIONS[condition] ?? `The card reader did not take the payment (${condition}). Nothing was charged. Take cash.`);
  }
  const reference = response.POIData?.POITransactionID?.TransactionID;
  const result = response.PaymentResult ?? {};
  const amounts = result.AmountsResp ?? {};
  if (typeof reference !== "string" || !/^[A-Za-z0-9_]{4,64}$/.test(reference)) {
    throw new ReaderRefused("MessageFormat", "The card reader approved the payment without a reference the till can keep. Call a manager before taking another payment.");
  }
  if (amounts.Currency !== request.currency || amountToMinor(amounts.AuthorizedAmount, request.currency) !== request.amountMinor) {
    throw new ReaderRefused("MessageFormat", "The card reader approved another amount than the sale's. Call a manager before taking another payment.");
  }
  const stored = result.OnlineFlag === false;
  if (stored && !request.storeAndForward) {
    throw new ReaderRefused("MessageFormat", "The card reader kept the payment offline although the till did not allow it. Call a manager.");
  }
  const card = result.PaymentInstrumentData?.CardData ?? {};
  return { reference, stored, brand: String(card.PaymentBrand ?? "card"), maskedPan: String(card.MaskedPan ?? "") };
}

/** Take a payment on the reader. Throws ReaderRefused (declined, cannot store, no answer). */
export async function payOnReader(request: ReaderRequest, fetcher: typeof fetch = fetch): Promise<ReaderApproval> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs ?? 60_000);
  let response: Response;
  try {
    response = await fetcher(request.url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: paymentRequestText(request),
      signal: controller.signal,
    });
  } catch {
    throw new ReaderRefused("NoAnswer", "The card reader did not answer. Check that it is on and connected, then try again; nothing is sold until it answers.");
  } finally {
    clearTimeout(timer);
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* read below as a bad answer */
  }
  return readPaymentResponse(body, request);
}
