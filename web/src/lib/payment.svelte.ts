// The till's payment state machine (issue 18): what happens between "Complete sale" and a
// receipt, out of PayDialog.svelte so that unit tests reach every transition.
//
//   ready ──pay──▶ sending ──201──▶ done (onpaid)
//     │              │  └─5xx / no answer (after AUTO_RETRIES quiet retries)──▶ problem{retry}
//     │              │  └─402 declined──▶ problem{declined}   └─409 short──▶ done (onrefused)
//     │              │  └─503 PENDING──▶ unknown ──check──▶ done (COMPLETED) | problem (FAILED)
//     │              └─403 (discount over the limit)──▶ approval
//     └─discount over the limit, not a manager──▶ approval ──granted──▶ sending (same sale id)
//                                                          └─refused──▶ problem
//   offline: cash ──▶ sending (kept on the till) ──▶ done;  split ──▶ problem
//            foreign cash ──▶ (a kept rate, not stale) sending (kept on the till) ──▶ done
//                         └─ no kept rate / stale / not accepted ──▶ problem (the reason)
//            card ──▶ (outlet allows, within its limits) sending (the reader keeps it) ──▶ done
//                 └─ not allowed / above a limit / the reader refused ──▶ problem (the reason)
//
// The sale id is made once per distinct request (outlet, register, cart, tenders, tax
// quote) and kept in `pending`, which survives a reload of the page (sessionStorage): a
// retry after no answer, or paying again for the same cart and tenders, posts the very
// same id and body, so the server can never charge it twice. A definite answer (paid,
// declined, refused) forgets it: the next attempt is a new sale.
import { describeShortStock, type CartLine, type SaleBody, type ShortLine, type TenderBody } from "./cart";
import { ApiError, describeError } from "./errors";
import { declineReason } from "./tender";
import type { Receipt } from "./types";

export type PayMode = "cash" | "card" | "split" | "foreign";

/** What went wrong, as the dialog shows it: `retry` (only "Retry the same sale" may be
 * pressed), `declined` (try another card / take cash), `offline` (sell it offline). */
export interface Problem {
  text: string;
  retry: boolean;
  declined?: boolean;
  offline?: boolean;
}

/** The dialog's one state. */
export type PayState =
  | { name: "ready" }
  | { name: "problem"; problem: Problem }
  | { name: "sending"; progress: string }
  | { name: "approval"; problem: Problem | null }
  | { name: "unknown"; checking: boolean; note: string }
  | { name: "done"; outcome: "paid" | "refused" | "signed-out" };

/** The request waiting for a definite answer. `unknown`: the server said the payment's
 * outcome is not known yet (503 PENDING): nothing else may be paid until it is settled. */
export interface Pending {
  key: string;
  body: SaleBody;
  unknown?: boolean;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The outside world the machine talks to (the real ones in PayDialog; fakes in tests). */
export interface PaymentPorts {
  postSale(body: SaleBody): Promise<Receipt>;
  getSale(id: string): Promise<Receipt & { status: string }>;
  /** Keep a cash sale on the till (offline), under this id when an online attempt had one. */
  sellOffline(id: string | undefined, cashTenderedMinor: number): Promise<Receipt>;
  /** Take the sale offline by card on the shop's card reader (deferred capture, ADR 0073);
   * throws with the reason when the outlet does not allow it or a limit is passed. */
  sellOfflineByCard?(id: string | undefined): Promise<Receipt>;
  /** Take the sale offline for foreign cash (and outlet cash for the rest) at the rate the
   * till kept (rateCache.ts); throws with the reason when there is none or it is stale. */
  sellOfflineForeign?(id: string | undefined, tenders: TenderBody[]): Promise<Receipt>;
  /** Take a card payment on the shop's card reader (online, ADR 0073) under the sale's
   * id; its reference. Throws with the reader's reason (declined, no answer). */
  takeOnReader?(id: string, amountMinor: number): Promise<string>;
  newId(): string;
  sleep(ms: number): Promise<void>;
  storage?: KeyValueStore | null;
}

export interface PaymentHooks {
  onpaid(receipt: Receipt): void;
  onrefused(short: ShortLine[], messages: string[]): void;
  /** The server refused the quote's tax as stale: price the cart again. */
  onrequote?(): void;
  /** The server's foreign-cash rate is not the one shown: fetch it again. */
  onratechanged?(): void;
}

/** One attempt to pay, as the dialog builds it. */
export interface PayOrder {
  mode: PayMode;
  /** The tenders, or null when the input is not complete (the dialog showed why via `invalid`). */
  tenders(): TenderBody[] | null;
  /** The request's identity: the same key reuses the pending sale id. */
  key(tenders: TenderBody[]): string;
  body(id: string, tenders: TenderBody[]): SaleBody;
  lines: readonly CartLine[];
  offline: boolean;
  cardOff: boolean;
  /** A card is part of the tenders (card, split, or foreign cash with the rest by card). */
  usesCard: boolean;
  /** The discounts need a manager's approval and the cashier is not one. */
  approvalNeeded: boolean;
  isManager: boolean;
  /** The outlet has a card reader: a card is taken on it first, then captured by payments. */
  reader?: boolean;
}

export const PENDING_KEY = "pos.pendingSale";
export const AUTO_RETRIES = 2;

/** The mode a stored request was paid in (for the messages after a retry or approval). */
export function modeOf(tenders: readonly TenderBody[]): PayMode {
  const kinds = tenders.map((t) => t.kind);
  if (kinds.includes("foreign_cash")) return "foreign";
  return kinds.length > 1 ? "split" : kinds[0] === "card" ? "card" : "cash";
}

/** 503 from sales when the card processor refused the connection: nothing was sent. */
function processorDown(e: unknown): boolean {
  return e instanceof ApiError && e.status === 503 && (e.body as { code?: string } | null)?.code === "card_processor_unreachable";
}

function isPendingPayment(e: unknown): boolean {
  return e instanceof ApiError && (e.body as { status?: string } | null)?.status === "PENDING";
}

export class PaymentFlow {
  state = $state<PayState>({ name: "ready" });
  pending = $state<Pending | null>(null);
  private lines: readonly CartLine[] = [];
  /** The one paying is a manager: a 403 is a refusal, not a PIN to ask for. */
  private manager = false;
  private readonly ports: PaymentPorts;
  private readonly hooks: PaymentHooks;

  constructor(ports: PaymentPorts, hooks: PaymentHooks) {
    this.ports = ports;
    this.hooks = hooks;
    this.pending = this.load();
    if (this.pending?.unknown) this.state = { name: "unknown", checking: false, note: "" };
  }

  // --- what the dialog reads ----------------------------------------------------------------
  get busy(): boolean {
    return this.state.name === "sending";
  }
  /** After no answer, only "Retry the same sale" may be pressed. */
  get unsure(): boolean {
    return this.state.name === "problem" && this.state.problem.retry;
  }
  /** A payment whose outcome is not known yet: nothing else may be paid. */
  get unknown(): boolean {
    return this.pending?.unknown === true;
  }
  get problem(): Problem | null {
    if (this.state.name === "problem") return this.state.problem;
    if (this.state.name === "approval") return this.state.problem;
    return null;
  }
  get progress(): string {
    return this.state.name === "sending" ? this.state.progress : "";
  }
  get approving(): boolean {
    return this.state.name === "approval" && this.pending !== null;
  }

  // --- transitions --------------------------------------------------------------------------
  /** The dialog opened: a fresh start, except an unknown payment (it must be settled first). */
  reset(): void {
    this.state = this.unknown ? { name: "unknown", checking: false, note: "" } : { name: "ready" };
  }

  /** The input is not complete or not valid (shown, nothing sent). */
  invalid(text: string): void {
    this.state = { name: "problem", problem: { text, retry: false } };
  }

  /** Forget a problem (the cashier changed the way of paying). */
  clearProblem(): void {
    if (this.state.name === "problem" && !this.state.problem.retry) this.state = { name: "ready" };
  }

  async pay(order: PayOrder): Promise<void> {
    if (this.busy || this.unknown || order.lines.length === 0) return;
    this.lines = order.lines;
    this.manager = order.isManager;
    if (order.offline) {
      if (order.mode === "foreign") {
        if (this.ports.sellOfflineForeign) return this.payOfflineForeign(order);
        return this.invalid("The till is offline: foreign cash needs the server's rate. Take cash in the shop's currency.");
      }
      if (order.mode === "card" && this.ports.sellOfflineByCard) return this.payOfflineByCard(order);
      if (order.mode !== "cash") return this.invalid("The till is offline: a card cannot be taken without its processor. Take cash.");
      return this.payOffline(order);
    }
    if (order.usesCard && order.cardOff) return this.invalid("Card payments are switched off for this shop. Take cash.");
    if (this.state.name === "problem") this.state = { name: "ready" };
    const tenders = order.tenders();
    if (!tenders) return;
    let body = this.requestFor(order.key(tenders), (id) => order.body(id, tenders));
    if (order.approvalNeeded && !order.isManager && !body.approved_by) {
      this.state = { name: "approval", problem: null }; // the manager's PIN first, then the same request
      return;
    }
    if (order.mode === "card" && order.reader && this.ports.takeOnReader && body.tenders.length === 1 && !body.tenders[0].reader_ref) {
      const reader = await this.onReader(body);
      if (!reader) return;
      body = reader;
    }
    await this.send(body, order.mode);
  }

  /** Offline: cash only, kept on the till and synced later (docs/offline.md). */
  async payOffline(order: Pick<PayOrder, "tenders" | "lines">): Promise<void> {
    if (this.busy || this.unknown || order.lines.length === 0) return;
    const tenders = order.tenders();
    if (!tenders) return;
    await this.keepOffline("Keeping the sale on this till…", (id) => this.ports.sellOffline(id, tenders[0].amount_minor));
  }

  /** Offline by card: the reader keeps the payment, the sale is queued and the card
   * captured when it syncs; refused with the reason otherwise (docs/offline.md). */
  async payOfflineByCard(order: Pick<PayOrder, "lines">): Promise<void> {
    const sell = this.ports.sellOfflineByCard;
    if (this.busy || this.unknown || order.lines.length === 0 || !sell) return;
    await this.keepOffline("Taking the card on the reader (offline: captured when the link is back)…", (id) => sell(id));
  }

  /** Offline foreign cash at the rate the till kept: queued with the rate, its source and
   * date; refused with the reason when there is none, it is stale or the currency is not taken. */
  async payOfflineForeign(order: Pick<PayOrder, "tenders" | "lines">): Promise<void> {
    const sell = this.ports.sellOfflineForeign;
    if (this.busy || this.unknown || order.lines.length === 0 || !sell) return;
    const tenders = order.tenders();
    if (!tenders) return;
    await this.keepOffline("Keeping the sale on this till…", (id) => sell(id, tenders));
  }

  /** Keep the sale on the till, under the id of an online attempt whose answer never came
   * (the server then records it once). */
  private async keepOffline(progress: string, sell: (id: string | undefined) => Promise<Receipt>): Promise<void> {
    this.state = { name: "sending", progress };
    try {
      const receipt = await sell(this.pending?.body.id);
      this.setPending(null);
      this.state = { name: "done", outcome: "paid" };
      this.hooks.onpaid(receipt);
    } catch (e) {
      this.invalid(e instanceof Error ? e.message : String(e));
    }
  }

  /** The card on the reader first (online): its reference goes into the pending sale,
   * so a retry posts the same sale with the same reference (captured once). A refusal
   * forgets the sale: nothing was charged. */
  private async onReader(body: SaleBody): Promise<SaleBody | null> {
    const key = this.pending?.key ?? "";
    this.state = { name: "sending", progress: "Waiting for the card on the reader…" };
    try {
      const { card_token: _token, ...tender } = body.tenders[0];
      const ref = await (this.ports.takeOnReader as NonNullable<PaymentPorts["takeOnReader"]>)(body.id, tender.amount_minor);
      const withRef: SaleBody = { ...body, tenders: [{ ...tender, reader_ref: ref }] };
      this.setPending({ key, body: withRef });
      return withRef;
    } catch (e) {
      this.setPending(null);
      this.invalid(e instanceof Error ? e.message : String(e));
      return null;
    }
  }

  /** "Retry the same sale": the very same id and body. */
  async retry(): Promise<void> {
    if (!this.pending || this.busy) return;
    await this.send(this.pending.body, modeOf(this.pending.body.tenders));
  }

  /** A manager approved the discount: the same request, with the approval's token. */
  async approved(token: string): Promise<void> {
    if (!this.pending) return;
    const body = { ...this.pending.body, approved_by: token };
    this.setPending({ ...this.pending, body });
    await this.send(body, modeOf(body.tenders));
  }

  /** The approval was cancelled (no PIN, or a wrong one given up on): nothing was sold. */
  approvalRefused(): void {
    this.invalid("Not approved: the sale was not taken. Lower the discount, or ask a manager to approve it.");
  }

  /** A payment whose outcome was unknown: ask the server how the sale ended. */
  async checkUnknown(): Promise<void> {
    const pending = this.pending;
    if (!pending || this.state.name !== "unknown" || this.state.checking) return;
    this.state = { name: "unknown", checking: true, note: "" };
    let note = "";
    try {
      const sale = await this.ports.getSale(pending.body.id);
      if (sale.status === "COMPLETED") {
        this.setPending(null);
        this.state = { name: "done", outcome: "paid" };
        this.hooks.onpaid(sale);
        return;
      }
      if (sale.status === "FAILED") {
        this.setPending(null);
        this.invalid("That payment did not go through: nothing was charged and nothing was sold. Take payment again.");
        return;
      }
      note = "Still not settled. Wait a minute and check again; do not take another payment meanwhile.";
    } catch (e) {
      note = describeError(e, "check the sale");
    }
    this.state = { name: "unknown", checking: false, note };
  }

  // --- inside ---------------------------------------------------------------------------------
  private requestFor(key: string, make: (id: string) => SaleBody): SaleBody {
    if (!this.pending || this.pending.key !== key) this.setPending({ key, body: make(this.ports.newId()) });
    return (this.pending as Pending).body;
  }

  private async send(body: SaleBody, mode: PayMode): Promise<void> {
    const charging = mode === "card" || mode === "split" || body.tenders.some((t) => t.kind === "card");
    this.state = { name: "sending", progress: charging ? "Charging the card… the customer may need to follow the card reader." : "Completing the sale…" };
    for (let attempt = 0; ; attempt++) {
      try {
        const receipt = await this.ports.postSale(body);
        this.setPending(null);
        this.state = { name: "done", outcome: "paid" };
        this.hooks.onpaid(receipt);
        return;
      } catch (e) {
        const noAnswer = e instanceof ApiError && (e.isNetwork || e.status >= 500) && !isPendingPayment(e) && !processorDown(e);
        if (noAnswer && attempt < AUTO_RETRIES) {
          this.state = { name: "sending", progress: `No answer yet: trying again (${attempt + 2} of ${AUTO_RETRIES + 1})…` };
          await this.ports.sleep(800 * (attempt + 1));
          continue;
        }
        this.failed(e, mode);
        return;
      }
    }
  }

  private failed(e: unknown, mode: PayMode): void {
    if (!(e instanceof ApiError)) return this.invalid(describeError(e, "complete the sale"));
    const body = e.body as { status?: string; decline_code?: string; short?: ShortLine[]; discounts?: string[]; code?: string } | null;
    const pending = this.pending;
    if (e.status === 503 && body?.status === "PENDING" && pending) {
      this.setPending({ ...pending, unknown: true }); // the same id only, until it is settled
      this.state = { name: "unknown", checking: false, note: "" };
      return;
    }
    if (processorDown(e)) {
      // Certain: nothing was charged and nothing sold. Retry sends the same sale id;
      // paying in cash instead makes a new one (other tenders, another sale).
      this.state = {
        name: "problem",
        problem: {
          text:
            "The card processor cannot be reached right now. Nothing was charged and the sale is not made yet. " +
            "Press Retry to try the card again, or take cash.",
          retry: true,
        },
      };
      return;
    }
    if (e.isNetwork || e.status >= 500) {
      // Keep `pending`: Retry sends the same sale id (and so does selling it offline).
      this.state = {
        name: "problem",
        problem: {
          offline: mode === "cash" && (e.isNetwork || e.status === 502 || e.status === 503 || e.status === 504),
          text:
            (e.isNetwork ? "The till got no answer from the server" : `The server could not finish the sale (${e.detail})`) +
            ", so it is not certain the sale went through. Press Retry: the same sale is sent again and cannot be charged twice." +
            " If it keeps failing, check the network and call a manager.",
          retry: true,
        },
      };
      return;
    }
    if (e.status === 401) {
      this.setPending(null);
      this.state = { name: "done", outcome: "signed-out" }; // the app is back at the log-in screen
      return;
    }
    if (e.status === 403 && pending) {
      // A discount above the limit without (or with a used-up) approval: nothing was
      // stored, so the same id is approved and sent again.
      this.setPending({ ...pending, body: { ...pending.body, approved_by: undefined } });
      if (this.manager) {
        return this.invalid(`The sale was refused: ${e.detail}. Nothing was charged. Check the discount and press Pay again.`);
      }
      this.state = {
        name: "approval",
        problem: {
          text: `The discount needs a manager's approval${body?.discounts?.length ? ` (${body.discounts.join("; ")})` : ""}. Nothing was charged.`,
          retry: false,
        },
      };
      return;
    }
    this.setPending(null); // a definite answer: the next attempt is a new sale id
    if (e.status === 409 && Array.isArray(body?.short) && body.short.length) {
      this.state = { name: "done", outcome: "refused" };
      this.hooks.onrefused(body.short, describeShortStock(body.short, this.lines));
      return;
    }
    if (e.status === 402) {
      this.state = {
        name: "problem",
        problem: {
          text:
            `The card was declined (${declineReason(body?.decline_code, e.detail)}). Nothing was sold and nothing was charged` +
            (mode === "split" ? " (no part of the split was taken)" : "") +
            ". Ask for another card, or take cash.",
          retry: false,
          declined: true,
        },
      };
      return;
    }
    if (body?.code === "tax_quote_stale") {
      // The tax shown is no longer the cart's (or too old): price it again, show the new total.
      this.hooks.onrequote?.();
      return this.invalid(`The sale was refused: ${e.detail}. Nothing was charged. Check the new total, then press Pay again.`);
    }
    if ((body?.code === "rate_changed" || body?.code === "rate_unusable") && mode === "foreign") {
      // The server's rate is not the one shown: show the new one (or why there is none).
      this.hooks.onratechanged?.();
      return this.invalid(`The sale was refused: ${e.detail}`);
    }
    if (e.status === 422 && (mode === "card" || mode === "split")) {
      return this.invalid(`The card payment could not be taken: ${e.detail}. Nothing was charged and nothing was sold. Take cash instead.`);
    }
    if (e.status === 409 || e.status === 422) {
      return this.invalid(`The sale was refused: ${e.detail}. Nothing was charged. Correct the sale and press Pay again.`);
    }
    this.invalid(describeError(e, "complete the sale"));
  }

  private load(): Pending | null {
    try {
      const saved = JSON.parse(this.ports.storage?.getItem(PENDING_KEY) ?? "null");
      return saved && typeof saved.key === "string" && saved.body ? saved : null;
    } catch {
      return null;
    }
  }

  private setPending(value: Pending | null): void {
    this.pending = value;
    try {
      if (value) this.ports.storage?.setItem(PENDING_KEY, JSON.stringify(value));
      else this.ports.storage?.removeItem(PENDING_KEY);
    } catch {
      /* storage disabled: memory only */
    }
  }
}
