// Cash and split at the pay dialog (issue 17, issue 18), out of PayDialog.svelte so that
// unit tests reach it: the cash handed over as typed (the total rounded to the outlet's
// cash step, the change or what is still short), and a split's parts as typed (card and
// cash parts adding up to the total, "split evenly in N", a part added or removed). The
// arithmetic and checks are lib/splitPay.ts and lib/cart.ts; this keeps the inputs and
// says what is missing before anything is sent (`cashSplit.test.ts`).
import { changeDue, singleTender, type Change, type TenderBody } from "./cart";
import { formatMoney, parseMoney, quickCashAmounts, toDecimalString } from "./money";
import { evenAmounts, evenCounts, MAX_PARTS, MIN_PARTS, resizeKinds, splitPartTenders, summarizeSplit, type PartIn, type PartKind, type SplitSummary } from "./splitPay";
import { roundCash, TEST_CARDS } from "./tender";

/** The sale being paid, read when needed (the dialog's props). */
export interface CashSale {
  /** the outlet's currency */
  currency: string;
  totalMinor: number;
  cashRoundingMinor: number;
  /** test cards per card part (the sandbox provider) */
  sandbox: boolean;
}

/** A part of the split as typed (amount text in the outlet's currency), with an id for the list. */
export interface PartRow {
  id: number;
  kind: PartKind;
  text: string;
  token: string;
}

/** The tenders, or what is missing and which input to go to (`cash`, or a part's index). */
export type CashTenders = { tenders: TenderBody[]; problem?: undefined; focus?: undefined } | { tenders?: undefined; problem: string; focus: "cash" | number | null };

export class CashSplitTender {
  /** the cash handed over, as typed */
  cashText = $state("");
  parts = $state<PartRow[]>([]);
  /** the N of "split evenly in N" */
  evenN = $state(2);
  #nextPartId = 0;
  readonly #sale: () => CashSale;

  constructor(sale: () => CashSale) {
    this.#sale = sale;
  }

  /** The total as cash pays it (rounded to the outlet's cash step). */
  get cashDue(): number {
    const { totalMinor, cashRoundingMinor } = this.#sale();
    return roundCash(totalMinor, cashRoundingMinor);
  }
  /** The cash handed over (null: nothing typed, or not an amount). */
  get tendered(): number | null {
    return this.cashText.trim() === "" ? null : parseMoney(this.cashText, this.#sale().currency);
  }
  get invalidCash(): boolean {
    return this.cashText.trim() !== "" && this.tendered === null;
  }
  get enough(): boolean {
    const tendered = this.tendered;
    return tendered !== null && tendered >= this.cashDue;
  }
  /** The change, or what is still due (paying in cash). */
  get change(): Change {
    return changeDue(this.cashDue, this.tendered);
  }
  /** The parts as the split's arithmetic takes them. */
  get partsIn(): PartIn[] {
    const { currency, sandbox } = this.#sale();
    return this.parts.map((p) => {
      const typed = p.text.trim() !== "";
      const minor = typed ? parseMoney(p.text, currency) : null;
      return { kind: p.kind, amountMinor: minor, invalid: typed && minor === null, cardToken: sandbox && p.kind === "card" ? p.token : null };
    });
  }
  get split(): SplitSummary {
    const { totalMinor, cashRoundingMinor, currency } = this.#sale();
    return summarizeSplit(totalMinor, this.partsIn, this.tendered, cashRoundingMinor, (minor) => formatMoney(minor, currency));
  }
  /** The counts "split evenly" offers. */
  get counts(): number[] {
    return evenCounts(this.#sale().totalMinor);
  }
  /** What the cash must cover: the whole total, or in a split the cash part. */
  cashDueIn(split: boolean): number {
    return split ? this.split.cashDueMinor : this.cashDue;
  }
  /** The quick cash amounts (the first is the exact one). */
  quick(split: boolean): number[] {
    return quickCashAmounts(this.cashDueIn(split), this.#sale().currency);
  }

  /** The dialog opened: nothing typed, no parts. */
  reset(): void {
    this.cashText = "";
    this.parts = [];
  }

  /** A quick amount (or F9) typed into "Cash received". */
  setCash(minor: number): void {
    this.cashText = toDecimalString(minor, this.#sale().currency);
  }

  #row(kind: PartKind, minor: number | null, token = TEST_CARDS[0].token): PartRow {
    return { id: this.#nextPartId++, kind, text: minor === null ? "" : toDecimalString(minor, this.#sale().currency), token };
  }

  /** "Split evenly in N": N parts adding up to the total (the parts there keep their kind
   * and test card; a fresh split is card + cash). False when N cannot be. */
  splitEvenly(n: number): boolean {
    const total = this.#sale().totalMinor;
    if (n < MIN_PARTS || n > total) return false;
    const kinds = this.parts.length ? resizeKinds(this.parts.map((p) => p.kind), n) : resizeKinds(["card", "cash"], n);
    const amounts = evenAmounts(total, n);
    this.parts = kinds.map((kind, i) => this.#row(kind, amounts[i], this.parts[i]?.token));
    return true;
  }

  /** Add a part: it takes what is still in no part (nothing when the parts are complete).
   * Its index, or null when there are as many parts as may be. */
  addPart(kind: PartKind): number | null {
    if (this.parts.length >= MAX_PARTS) return null;
    const remaining = this.split.remainingMinor;
    this.parts.push(this.#row(kind, remaining > 0 ? remaining : null));
    return this.parts.length - 1;
  }

  /** Remove a part (a split keeps at least two). */
  removePart(index: number): boolean {
    if (this.parts.length <= MIN_PARTS) return false;
    this.parts.splice(index, 1);
    return true;
  }

  /** The cash tender, or what is missing. */
  cashTenders(): CashTenders {
    const tendered = this.tendered;
    const due = this.cashDue;
    if (tendered === null) return { problem: this.invalidCash ? this.#notAmount() : "Type the cash received, or tap one of the amounts.", focus: "cash" };
    if (tendered < due) {
      const money = formatMoney(due - tendered, this.#sale().currency);
      return { problem: `That is ${money} short of the total. Take more cash, or change the amount.`, focus: "cash" };
    }
    return { tenders: singleTender("cash", tendered) };
  }

  /** The split's tenders (each card part in order, then the cash), or what is missing. */
  splitTenders(): CashTenders {
    const split = this.split;
    if (this.invalidCash && split.hasCash) return { problem: this.#notAmount(), focus: "cash" };
    if (!split.ready) {
      const bad = split.partProblems.findIndex((p) => p);
      return { problem: split.problem, focus: bad >= 0 ? bad : split.hasCash && split.remainingMinor === 0 ? "cash" : null };
    }
    return { tenders: splitPartTenders(this.partsIn, split.hasCash ? this.tendered : null) };
  }

  #notAmount(): string {
    return `“${this.cashText}” is not an amount. Type the cash received, like 20 or 12.50.`;
  }
}
