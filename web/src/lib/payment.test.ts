import { beforeEach, describe, expect, it } from "vitest";
import { saleBody, singleTender, type CartLine, type SaleBody, type ShortLine, type TenderBody } from "./cart";
import { ApiError } from "./errors";
import { PENDING_KEY, PaymentFlow, type PayMode, type PayOrder, type PaymentPorts } from "./payment.svelte";
import type { Receipt } from "./types";

// The till's payment state machine with the outside world faked at its ports: the sales
// API answers what a test scripts, the storage is a Map (sessionStorage in the browser).

const mug: CartLine = { productId: "mug", sku: "MUG", name: "Mug", unitPriceMinor: 1250, currency: "EUR", qty: 2, taxClass: "standard" };

type Answer = Receipt | ApiError;

class FakeTill {
  posted: SaleBody[] = [];
  answers: Answer[] = [];
  sales: Record<string, Receipt & { status: string }> = {};
  offline: { id: string | undefined; cash: number }[] = [];
  offlineFails = "";
  slept: number[] = [];
  paid: Receipt[] = [];
  refused: { short: ShortLine[]; messages: string[] }[] = [];
  requoted = 0;
  stored = new Map<string, string>();
  ids = 0;

  ports(): PaymentPorts {
    return {
      postSale: async (body) => {
        this.posted.push(structuredClone(body));
        const answer = this.answers.shift();
        if (!answer) throw new Error("no answer scripted");
        if (answer instanceof ApiError) throw answer;
        return answer;
      },
      getSale: async (id) => {
        const sale = this.sales[id];
        if (!sale) throw new ApiError(404, "no such sale");
        return sale;
      },
      sellOffline: async (id, cash) => {
        if (this.offlineFails) throw new Error(this.offlineFails);
        this.offline.push({ id, cash });
        return receipt(id ?? "offline-1");
      },
      newId: () => `sale-${++this.ids}`,
      sleep: async (ms) => void this.slept.push(ms),
      storage: {
        getItem: (k) => this.stored.get(k) ?? null,
        setItem: (k, v) => void this.stored.set(k, v),
        removeItem: (k) => void this.stored.delete(k),
      },
    };
  }

  flow(): PaymentFlow {
    return new PaymentFlow(this.ports(), {
      onpaid: (r) => void this.paid.push(r),
      onrefused: (short, messages) => void this.refused.push({ short, messages }),
      onrequote: () => void this.requoted++,
    });
  }
}

function receipt(id: string): Receipt {
  return { sale_id: id, receipt_number: `R-${id}`, total_minor: 2500, status: "COMPLETED" } as unknown as Receipt;
}

function order(mode: PayMode, options: Partial<PayOrder> & { tenders?: () => TenderBody[] | null } = {}): PayOrder {
  const tenders =
    mode === "card"
      ? singleTender("card", 2500, "tok_visa")
      : mode === "split"
        ? [
            { kind: "card" as const, amount_minor: 1000, card_token: "tok_visa" },
            { kind: "cash" as const, amount_minor: 1500 },
          ]
        : mode === "foreign"
          ? [{ kind: "foreign_cash" as const, currency: "USD", amount_minor: 3000, quoted_rate: "1.2" }]
          : singleTender("cash", 3000);
  return {
    mode,
    lines: [mug],
    offline: false,
    cardOff: false,
    usesCard: mode === "card" || mode === "split",
    approvalNeeded: false,
    isManager: false,
    tenders: () => tenders,
    key: (t) => JSON.stringify(t),
    body: (id, t) => saleBody(id, "outlet-1", [mug], t),
    ...options,
  };
}

const noAnswer = () => new ApiError(0, "no answer");

let till: FakeTill;
beforeEach(() => {
  till = new FakeTill();
});

describe("paying online", () => {
  it("paid: one POST, the receipt handed on, nothing left pending", async () => {
    const flow = till.flow();
    till.answers = [receipt("sale-1")];
    await flow.pay(order("cash"));
    expect(till.posted.map((b) => b.id)).toEqual(["sale-1"]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-1"]);
    expect(flow.state).toEqual({ name: "done", outcome: "paid" });
    expect(flow.pending).toBeNull();
    expect(till.stored.has(PENDING_KEY)).toBe(false);
  });

  it("declined: says so (a split took no part), forgets the sale id, and the next card is a new sale", async () => {
    const flow = till.flow();
    till.answers = [new ApiError(402, "declined", { decline_code: "insufficient_funds" })];
    await flow.pay(order("split"));
    expect(flow.state.name).toBe("problem");
    expect(flow.problem?.declined).toBe(true);
    expect(flow.problem?.retry).toBe(false);
    expect(flow.problem?.text).toContain("The card was declined");
    expect(flow.problem?.text).toContain("no part of the split was taken");
    expect(flow.pending).toBeNull();
    expect(till.paid).toEqual([]);

    flow.clearProblem(); // "Try another card"
    expect(flow.state.name).toBe("ready");
    till.answers = [receipt("sale-2")];
    await flow.pay(order("split"));
    expect(till.posted.map((b) => b.id)).toEqual(["sale-1", "sale-2"]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-2"]);
  });

  it("network error: quiet retries, then Retry the same sale posts the very same id and body, and it is paid once", async () => {
    const flow = till.flow();
    till.answers = [noAnswer(), noAnswer(), noAnswer()];
    await flow.pay(order("card"));
    expect(till.posted).toHaveLength(3); // the first try and two quiet retries
    expect(new Set(till.posted.map((b) => b.id))).toEqual(new Set(["sale-1"]));
    expect(till.slept).toEqual([800, 1600]);
    expect(flow.state.name).toBe("problem");
    expect(flow.unsure).toBe(true);
    expect(flow.problem?.text).toContain("not certain the sale went through");
    expect(flow.problem?.offline).toBe(false); // a card cannot be sold offline
    expect(till.stored.get(PENDING_KEY)).toContain("sale-1"); // survives a reload

    // "Complete" with the same cart and tenders is the same sale too.
    till.answers = [receipt("sale-1")];
    await flow.retry();
    expect(till.posted).toHaveLength(4);
    expect(till.posted[3]).toEqual(till.posted[0]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-1"]);
    expect(flow.pending).toBeNull();
  });

  it("the same request after a reload reuses the stored sale id; a changed one is a new sale", async () => {
    till.answers = [noAnswer(), noAnswer(), noAnswer()];
    await till.flow().pay(order("cash"));
    const reloaded = till.flow(); // the page was reloaded
    expect(reloaded.pending?.body.id).toBe("sale-1");
    till.answers = [receipt("sale-1")];
    await reloaded.pay(order("cash"));
    expect(till.posted.at(-1)?.id).toBe("sale-1");

    till.answers = [receipt("sale-2")];
    await reloaded.pay(order("cash", { tenders: () => singleTender("cash", 5000) }));
    expect(till.posted.at(-1)?.id).toBe("sale-2");
  });

  it("no answer on a cash sale offers to sell it offline under the same id", async () => {
    const flow = till.flow();
    till.answers = [new ApiError(502, "bad gateway"), new ApiError(502, "bad gateway"), new ApiError(502, "bad gateway")];
    await flow.pay(order("cash"));
    expect(flow.problem?.offline).toBe(true);
    await flow.payOffline({ lines: [mug], tenders: () => singleTender("cash", 3000) });
    expect(till.offline).toEqual([{ id: "sale-1", cash: 3000 }]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-1"]);
    expect(flow.pending).toBeNull();
  });

  it("the card processor unreachable: certain nothing was charged, Retry offered at once (no quiet retries)", async () => {
    const flow = till.flow();
    till.answers = [new ApiError(503, "down", { code: "card_processor_unreachable" })];
    await flow.pay(order("card"));
    expect(till.posted).toHaveLength(1);
    expect(flow.unsure).toBe(true);
    expect(flow.problem?.text).toContain("Nothing was charged");
  });

  it("out of stock: the refusal goes to the till with the short lines described", async () => {
    const flow = till.flow();
    const short: ShortLine[] = [{ product_id: "mug", requested: 2, available: 1 }];
    till.answers = [new ApiError(409, "not enough stock", { short })];
    await flow.pay(order("cash"));
    expect(till.refused).toHaveLength(1);
    expect(till.refused[0].messages[0]).toContain("Mug");
    expect(flow.state).toEqual({ name: "done", outcome: "refused" });
    expect(flow.pending).toBeNull();
  });

  it("a stale tax quote asks the till to price the cart again", async () => {
    const flow = till.flow();
    till.answers = [new ApiError(409, "the tax changed", { code: "tax_quote_stale" })];
    await flow.pay(order("cash"));
    expect(till.requoted).toBe(1);
    expect(flow.problem?.text).toContain("Check the new total");
  });
});

describe("outcome unknown", () => {
  async function unknownPayment(): Promise<PaymentFlow> {
    const flow = till.flow();
    till.answers = [new ApiError(503, "pending", { status: "PENDING", sale_id: "sale-1" })];
    await flow.pay(order("card"));
    return flow;
  }

  it("locks the till to that sale, also after a reload, and no other payment is taken", async () => {
    const flow = await unknownPayment();
    expect(till.posted).toHaveLength(1); // no quiet retry of a PENDING answer
    expect(flow.state.name).toBe("unknown");
    expect(flow.unknown).toBe(true);
    await flow.pay(order("cash"));
    expect(till.posted).toHaveLength(1);

    const reloaded = till.flow();
    expect(reloaded.state.name).toBe("unknown");
    reloaded.reset(); // the dialog opened again
    expect(reloaded.state.name).toBe("unknown");
  });

  it("resolved as completed: the receipt is handed on", async () => {
    const flow = await unknownPayment();
    till.sales["sale-1"] = { ...receipt("sale-1"), status: "COMPLETED" };
    await flow.checkUnknown();
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-1"]);
    expect(flow.unknown).toBe(false);
    expect(till.stored.has(PENDING_KEY)).toBe(false);
  });

  it("resolved as failed: says nothing was charged, and the next payment is a new sale", async () => {
    const flow = await unknownPayment();
    till.sales["sale-1"] = { ...receipt("sale-1"), status: "FAILED" };
    await flow.checkUnknown();
    expect(flow.problem?.text).toContain("did not go through");
    expect(flow.unknown).toBe(false);
    till.answers = [receipt("sale-2")];
    await flow.pay(order("cash"));
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-2"]);
  });

  it("still pending: stays locked with a note", async () => {
    const flow = await unknownPayment();
    till.sales["sale-1"] = { ...receipt("sale-1"), status: "PENDING" };
    await flow.checkUnknown();
    expect(flow.state).toMatchObject({ name: "unknown", checking: false });
    expect(flow.state.name === "unknown" && flow.state.note).toContain("Still not settled");
    expect(flow.unknown).toBe(true);
  });
});

describe("a manager's approval", () => {
  it("needed before sending: then granted, the same sale id goes with the approval's token", async () => {
    const flow = till.flow();
    await flow.pay(order("cash", { approvalNeeded: true }));
    expect(flow.state).toEqual({ name: "approval", problem: null });
    expect(flow.approving).toBe(true);
    expect(till.posted).toHaveLength(0);

    till.answers = [receipt("sale-1")];
    await flow.approved("approval-token");
    expect(till.posted).toHaveLength(1);
    expect(till.posted[0].id).toBe("sale-1");
    expect(till.posted[0].approved_by).toBe("approval-token");
    expect(till.paid).toHaveLength(1);
  });

  it("refused: nothing is sold, and the message says why", async () => {
    const flow = till.flow();
    await flow.pay(order("cash", { approvalNeeded: true }));
    flow.approvalRefused();
    expect(flow.state.name).toBe("problem");
    expect(flow.problem?.text).toContain("Not approved");
    expect(till.posted).toHaveLength(0);
  });

  it("a manager at the till needs no PIN", async () => {
    const flow = till.flow();
    till.answers = [receipt("sale-1")];
    await flow.pay(order("cash", { approvalNeeded: true, isManager: true }));
    expect(till.posted).toHaveLength(1);
    expect(till.posted[0].approved_by).toBeUndefined();
  });

  it("the server asks for approval (403): the PIN dialog opens for the same sale id, without the used token", async () => {
    const flow = till.flow();
    till.answers = [new ApiError(403, "approval needed", { discounts: ["20% off the cart"] })];
    await flow.pay(order("cash"));
    expect(flow.state.name).toBe("approval");
    expect(flow.problem?.text).toContain("20% off the cart");
    till.answers = [receipt("sale-1")];
    await flow.approved("token-2");
    expect(till.posted.map((b) => [b.id, b.approved_by])).toEqual([
      ["sale-1", undefined],
      ["sale-1", "token-2"],
    ]);
  });

  it("a manager's own 403 is a refusal, not a PIN prompt", async () => {
    const flow = till.flow();
    till.answers = [new ApiError(403, "over the hard limit")];
    await flow.pay(order("cash", { isManager: true }));
    expect(flow.state.name).toBe("problem");
    expect(flow.problem?.text).toContain("The sale was refused: over the hard limit");
  });
});

describe("online with the card reader (ADR 0073)", () => {
  it("takes the card on the reader under the sale's id, then posts the sale with its reference; a retry reuses both", async () => {
    const onReader: string[] = [];
    const ports = { ...till.ports(), takeOnReader: async (id: string, amount: number) => {
      onReader.push(`${id}:${amount}`);
      return "psp_0123456789";
    } };
    const flow = new PaymentFlow(ports, { onpaid: (r) => void till.paid.push(r), onrefused: () => {} });
    till.answers = [noAnswer(), noAnswer(), noAnswer(), receipt("sale-1")];
    await flow.pay(order("card", { reader: true }));
    expect(onReader).toEqual(["sale-1:2500"]);
    expect(till.posted[0].tenders).toEqual([{ kind: "card", amount_minor: 2500, reader_ref: "psp_0123456789" }]);
    expect(flow.unsure).toBe(true);
    await flow.retry();
    expect(onReader).toHaveLength(1);
    expect(till.posted.map((b) => [b.id, b.tenders[0].reader_ref])).toEqual(Array(4).fill(["sale-1", "psp_0123456789"]));
    expect(till.paid).toHaveLength(1);
  });

  it("a card the reader declines sells nothing and forgets the sale", async () => {
    const ports = { ...till.ports(), takeOnReader: async () => {
      throw new Error("The card was declined on the reader. Nothing was charged. Ask for another card, or take cash.");
    } };
    const flow = new PaymentFlow(ports, { onpaid: (r) => void till.paid.push(r), onrefused: () => {} });
    await flow.pay(order("card", { reader: true }));
    expect(flow.problem?.text).toMatch(/declined on the reader/);
    expect(till.posted).toHaveLength(0);
    expect(flow.pending).toBeNull();
  });
});

describe("offline", () => {
  it("a cash sale is kept on the till, with no POST", async () => {
    const flow = till.flow();
    await flow.pay(order("cash", { offline: true }));
    expect(till.posted).toHaveLength(0);
    expect(till.offline).toEqual([{ id: undefined, cash: 3000 }]);
    expect(till.paid).toHaveLength(1);
    expect(flow.state).toEqual({ name: "done", outcome: "paid" });
  });

  it("a card is refused, nothing is sent or kept", async () => {
    const flow = till.flow();
    await flow.pay(order("card", { offline: true }));
    expect(flow.problem?.text).toContain("a card cannot be taken without its processor");
    expect(till.posted).toHaveLength(0);
    expect(till.offline).toHaveLength(0);
  });

  it("with deferred card capture, a card goes to the reader and is kept on the till; a refusal says why", async () => {
    const byCard: (string | undefined)[] = [];
    let refuse = "";
    const ports = { ...till.ports(), sellOfflineByCard: async (id: string | undefined) => {
      if (refuse) throw new Error(refuse);
      byCard.push(id);
      return receipt(id ?? "offline-card");
    } };
    const flow = new PaymentFlow(ports, { onpaid: (r) => void till.paid.push(r), onrefused: () => {} });
    await flow.pay(order("card", { offline: true }));
    expect(byCard).toEqual([undefined]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["offline-card"]);
    expect(till.posted).toHaveLength(0);
    refuse = "A card payment of €30.01 is above the €30.00 this outlet allows by card while the till is offline.";
    await flow.pay(order("card", { offline: true }));
    expect(flow.problem?.text).toBe(refuse);
    expect(till.paid).toHaveLength(1);
  });

  it("foreign cash without the till's rate cache is refused (it needs the server's rate)", async () => {
    const flow = till.flow();
    await flow.pay(order("foreign", { offline: true }));
    expect(flow.problem?.text).toContain("foreign cash needs the server's rate");
    expect(till.offline).toHaveLength(0);
  });

  it("foreign cash at the kept rate is kept on the till with its tenders; a refusal (stale rate) says why", async () => {
    const kept: { id: string | undefined; tenders: TenderBody[] }[] = [];
    let refuse = "";
    const ports = { ...till.ports(), sellOfflineForeign: async (id: string | undefined, tenders: TenderBody[]) => {
      if (refuse) throw new Error(refuse);
      kept.push({ id, tenders });
      return receipt(id ?? "offline-fx");
    } };
    const flow = new PaymentFlow(ports, { onpaid: (r) => void till.paid.push(r), onrefused: () => {} });
    const withRest = () => [
      { kind: "foreign_cash" as const, currency: "USD", amount_minor: 2000, quoted_rate: "1.2" },
      { kind: "cash" as const, amount_minor: 1000 },
    ];
    await flow.pay(order("foreign", { offline: true, tenders: withRest }));
    expect(kept).toEqual([{ id: undefined, tenders: withRest() }]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["offline-fx"]);
    expect(till.posted).toHaveLength(0);
    refuse = "USD cash cannot be taken offline: the USD rate kept on this till (ECB rate of 2026-12-01) is 6 days old";
    await flow.pay(order("foreign", { offline: true }));
    expect(flow.problem?.text).toBe(refuse);
    expect(till.paid).toHaveLength(1);
    await flow.pay(order("foreign", { offline: true, tenders: () => null }));
    expect(kept).toHaveLength(1);
  });

  it("the offline store refusing the sale (over its limit) is shown", async () => {
    const flow = till.flow();
    till.offlineFails = "Over the offline limit: call a manager.";
    await flow.pay(order("cash", { offline: true }));
    expect(flow.problem?.text).toBe("Over the offline limit: call a manager.");
    expect(till.paid).toHaveLength(0);
  });
});

describe("input and settings", () => {
  it("incomplete input sends nothing (the dialog showed why)", async () => {
    const flow = till.flow();
    await flow.pay(
      order("cash", {
        tenders: () => {
          flow.invalid("Type the cash received.");
          return null;
        },
      }),
    );
    expect(flow.problem?.text).toBe("Type the cash received.");
    expect(till.posted).toHaveLength(0);
  });

  it("cards switched off: a split is refused before anything is sent", async () => {
    const flow = till.flow();
    await flow.pay(order("split", { cardOff: true }));
    expect(flow.problem?.text).toContain("Card payments are switched off");
    expect(till.posted).toHaveLength(0);
  });

  it("foreign cash with a changed rate: refused, the dialog fetches the new rate", async () => {
    let rates = 0;
    const flow = new PaymentFlow(till.ports(), { onpaid: () => {}, onrefused: () => {}, onratechanged: () => void rates++ });
    till.answers = [new ApiError(409, "the rate changed", { code: "rate_changed" })];
    await flow.pay(order("foreign"));
    expect(rates).toBe(1);
    expect(flow.problem?.text).toBe("The sale was refused: the rate changed");
    expect(flow.pending).toBeNull();
  });

  it("online, foreign cash with the rest in outlet cash is one sale with both tenders, even with cards switched off", async () => {
    const progress: string[] = [];
    const ports = till.ports();
    const watched: PaymentFlow = new PaymentFlow(
      {
        ...ports,
        postSale: async (body): Promise<Receipt> => {
          progress.push(watched.progress);
          return ports.postSale(body);
        },
      },
      { onpaid: (r) => void till.paid.push(r), onrefused: () => {} },
    );
    const withRest = () => [
      { kind: "foreign_cash" as const, currency: "USD", amount_minor: 2000, quoted_rate: "1.0812" },
      { kind: "cash" as const, amount_minor: 1000 },
    ];
    till.answers = [receipt("sale-1")];
    await watched.pay(order("foreign", { tenders: withRest, cardOff: true }));
    expect(till.posted.map((b) => b.tenders)).toEqual([withRest()]);
    expect(progress).toEqual(["Completing the sale…"]);
    expect(till.paid.map((r) => r.sale_id)).toEqual(["sale-1"]);
    expect(watched.state).toEqual({ name: "done", outcome: "paid" });
  });

  it("an empty cart or a sale in flight: pay does nothing", async () => {
    const flow = till.flow();
    await flow.pay(order("cash", { lines: [] }));
    expect(till.posted).toHaveLength(0);
    expect(flow.state.name).toBe("ready");
  });
});
