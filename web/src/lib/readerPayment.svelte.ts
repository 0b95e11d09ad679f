// How the till takes cards at the pay dialog (issue 18), out of PayDialog.svelte so that
// unit tests reach it: the card provider payments uses (sandbox: test cards; none: cards
// switched off), the outlet's card reader on the LAN (ADR 0073: the card is taken on it
// under the sale's id, then captured by payments with the reader's reference), and
// whether the outlet lets the till take a card offline on it (up to a limit). The reader's
// protocol is lib/cardReader.ts; the payment itself is lib/payment.svelte.ts. The
// services, the kept settings and the reader are ports, so `readerPayment.test.ts` drives
// it with fakes.
import { describeError } from "./errors";
import type { ReaderApproval, ReaderRequest } from "./cardReader";
import type { OfflineSettings } from "./offlineSale";

/** The till the sale is taken on, read when needed (the dialog's props). */
export interface CardTill {
  outletId: string;
  /** the outlet's currency */
  currency: string;
  registerNumber: number | null;
  /** the dialog is open (the reader is looked up each time it opens) */
  open: boolean;
  /** the services cannot be reached */
  offline: boolean;
}

export interface CardPorts {
  /** GET /api/payments/provider: sandbox | none | the processor */
  provider(): Promise<string>;
  /** The outlet's settings kept on the till (tillOffline.cachedOutletSettings). */
  keptSettings(outletId: string): Partial<Pick<OfflineSettings, "card_reader_url" | "offline_card_allowed" | "offline_card_max_sale_minor">> | null;
  /** Take a payment on the reader (cardReader.payOnReader); throws ReaderRefused with the reason. */
  payOnReader(request: ReaderRequest): Promise<ReaderApproval>;
}

export class CardTender {
  /** the card provider (null: not known yet) */
  provider = $state<string | null>(null);
  providerError = $state("");
  readonly #ports: CardPorts;
  readonly #till: () => CardTill;

  constructor(ports: CardPorts, till: () => CardTill) {
    this.#ports = ports;
    this.#till = till;
  }

  /** The outlet's card reader (its URL; "" none), looked up when the dialog opens. */
  readonly readerUrl = $derived.by(() => {
    const till = this.#till();
    return till.open ? (this.#ports.keptSettings(till.outletId)?.card_reader_url ?? "") : "";
  });

  /** Offline: the most a card may take on the reader (deferred capture, ADR 0073); null
   * when the till is online, or the outlet does not let it take cards offline. */
  readonly offlineLimitMinor = $derived.by(() => {
    const till = this.#till();
    if (!till.offline) return null;
    const kept = this.#ports.keptSettings(till.outletId);
    return kept?.offline_card_allowed && kept.card_reader_url ? (kept.offline_card_max_sale_minor ?? 0) : null;
  });

  /** Test cards, no real money. */
  get sandbox(): boolean {
    return this.provider === "sandbox";
  }
  /** Cards are switched off for this shop: cash only. */
  get cardOff(): boolean {
    return this.provider === "none";
  }

  /** The dialog opened: the provider asked once (again after a failure). */
  opened(): void {
    if (this.provider === null) void this.loadProvider();
  }

  async loadProvider(): Promise<void> {
    this.providerError = "";
    try {
      this.provider = await this.#ports.provider();
    } catch (e) {
      this.providerError = describeError(e, "find out how cards are taken");
    }
  }

  /** The test card to send: only in the sandbox without a reader (the reader asks for the card). */
  token(testCard: string): string | null {
    return this.sandbox && !this.readerUrl ? testCard : null;
  }

  /** Take `amountMinor` on the reader under the sale's id (online: no store-and-forward);
   * the reader's reference. Throws with the reader's reason (declined, no answer). */
  async takeOnReader(saleId: string, amountMinor: number): Promise<string> {
    const till = this.#till();
    const approval = await this.#ports.payOnReader({
      url: this.readerUrl,
      transactionId: saleId,
      amountMinor,
      currency: till.currency,
      storeAndForward: false,
      saleId: `R${till.registerNumber ?? 0}`,
    });
    return approval.reference;
  }
}
