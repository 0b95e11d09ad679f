// Foreign cash at the pay dialog (issue 16, issue 18), out of PayDialog.svelte so that
// unit tests reach it: the outlet's accepted currencies (its settings in sales, read once
// per outlet; offline the ones the till kept), the rate of the chosen currency (payments,
// kept on the till for offline; offline the kept one, refused with the reason when there
// is none, it is stale or the currency is not taken: lib/rateCache.ts), the amount due in
// it, what was handed over and the change in the outlet's currency, and when it is short
// the rest in the outlet's cash (rounded to its cash step, with change) or, online, by
// card. The arithmetic is lib/foreignCash.ts (the server's rules); the payment itself is
// lib/payment.svelte.ts. The services, the till's kept settings and rates and the clock
// are ports, so `foreignTender.test.ts` drives it with fakes.
import type { TenderBody } from "./cart";
import { describeError } from "./errors";
import { amountDueIn, ageText, foreignPart, foreignSaleTenders, minorText, parseMinor, restInCash, type CashRest, type CurrencyInfo, type ForeignPart, type Pair } from "./foreignCash";
import { formatMoney, parseMoney } from "./money";
import type { OfflineSettings } from "./offlineSale";
import { DEFAULT_STALE_AFTER_DAYS, offlineRateView, rateSource, type RateCache, type RateView } from "./rateCache";

/** The sale being paid, read when needed (the dialog's props). */
export interface ForeignSale {
  outletId: string;
  /** the outlet's currency */
  currency: string;
  totalMinor: number;
  cashRoundingMinor: number;
  /** the services cannot be reached */
  offline: boolean;
}

/** The outside world (the real ones in PayDialog; fakes in tests). */
export interface ForeignPorts {
  /** GET /api/sales/outlets/{id}/settings */
  outletSettings(outletId: string): Promise<{ accepted_currencies?: string[] }>;
  /** GET /api/identity/currencies */
  currencies(): Promise<CurrencyInfo[]>;
  /** GET /api/payments/rates/{base}/{code} */
  rate(base: string, code: string): Promise<RateView>;
  /** The outlet's settings kept on the till (tillOffline.cachedOutletSettings). */
  keptSettings(outletId: string): Pick<OfflineSettings, "accepted_currencies" | "rates_stale_after_days"> | null;
  /** The rates kept on the till (rateCache.cachedRates). */
  keptRates(base: string): Promise<RateCache>;
  /** Keep rates and currencies for offline (rateCache.rememberRates). */
  rememberRates(base: string, seen: readonly RateView[], currencies?: readonly CurrencyInfo[]): Promise<unknown>;
  now(): number;
}

export interface ForeignHooks {
  /** A currency was chosen and its rate read (the dialog focuses the amount). */
  onchosen?(): void;
}

/** The tenders, or what is missing (`focus`: the amount handed over is). */
export type ForeignTenders = { tenders: TenderBody[]; problem?: undefined; focus?: undefined } | { tenders?: undefined; problem: string; focus?: boolean };

export class ForeignTender {
  /** the currencies the outlet accepts (none: no foreign cash) */
  accepted = $state<string[]>([]);
  /** ISO 4217 exponents and cash units, by code */
  currencies = $state<Record<string, CurrencyInfo>>({});
  /** the currency chosen ("" none yet) */
  code = $state("");
  rate = $state<RateView | null>(null);
  rateError = $state("");
  rateLoading = $state(false);
  /** the foreign cash handed over, as typed */
  text = $state("");
  /** the outlet's cash handed over for the rest, as typed */
  restCashText = $state("");
  /** the rest (when the foreign cash is short) by card instead of cash (online only) */
  restByCard = $state(false);
  /** the outlet whose accepted currencies were read ("" not read, or read offline) */
  #acceptedFor = "";
  readonly #ports: ForeignPorts;
  readonly #sale: () => ForeignSale;
  readonly #hooks: ForeignHooks;

  constructor(ports: ForeignPorts, sale: () => ForeignSale, hooks: ForeignHooks = {}) {
    this.#ports = ports;
    this.#sale = sale;
    this.#hooks = hooks;
  }

  // --- what the dialog shows ------------------------------------------------------------------
  get info(): CurrencyInfo | undefined {
    return this.currencies[this.code];
  }
  /** The outlet's currency, the chosen one and a usable rate; null: no amount can be shown. */
  get pair(): Pair | null {
    const local = this.currencies[this.#sale().currency];
    const foreign = this.info;
    return local && foreign && this.rate?.usable && this.rate.rate ? { local, foreign, rate: this.rate.rate } : null;
  }
  /** The total in the chosen currency, to its cash unit. */
  get dueMinor(): number | null {
    const pair = this.pair;
    return pair ? amountDueIn(this.#sale().totalMinor, pair) : null;
  }
  /** The foreign cash handed over (minor units), null: nothing typed or not an amount. */
  get minor(): number | null {
    const info = this.info;
    return info && this.text.trim() !== "" ? parseMinor(this.text, info.minor_units) : null;
  }
  /** What was typed is not a multiple of the currency's cash unit. */
  get offStep(): boolean {
    const info = this.info;
    const minor = this.minor;
    return info !== undefined && minor !== null && minor % info.cash_unit_minor !== 0;
  }
  get invalid(): boolean {
    const minor = this.minor;
    return this.text.trim() !== "" && (minor === null || minor <= 0 || this.offStep);
  }
  /** What the foreign cash pays (null: no usable amount or rate). */
  get paid(): ForeignPart | null {
    const pair = this.pair;
    const minor = this.minor;
    return pair && minor !== null && minor > 0 && !this.offStep ? foreignPart(this.#sale().totalMinor, minor, pair) : null;
  }
  /** The rate refused (stale, none kept, not accepted): why. */
  get refused(): boolean {
    return this.rate !== null && !this.rate.usable;
  }
  /** "1 EUR = 1.05 USD · ECB rate of ... (today's) · rounded to 0.01 USD; change is given in EUR." */
  get rateLine(): string {
    const pair = this.pair;
    const rate = this.rate;
    if (!pair || !rate) return "";
    const { currency, offline } = this.#sale();
    const source = rate.source === "manual" ? `manual rate set by a manager ${rate.reference_date ?? ""}` : rateSource(rate.source ?? "", rate.reference_date ?? "");
    const kept = offline ? " · kept on this till from when it was online" : "";
    return `1 ${currency} = ${pair.rate} ${this.code} · ${source} (${ageText(rate.age_days)})${kept} · rounded to ${this.fmoney(pair.foreign.cash_unit_minor)}; change is given in ${currency}.`;
  }
  /** The outlet's cash typed for the rest (null: nothing, or not an amount). */
  get restCash(): number | null {
    return this.restCashText.trim() === "" ? null : parseMoney(this.restCashText, this.#sale().currency);
  }
  get restCashInvalid(): boolean {
    return this.restCashText.trim() !== "" && this.restCash === null;
  }
  /** What the foreign cash leaves, in the outlet's cash (its cash rounding), with change. */
  get cashRest(): CashRest | null {
    const paid = this.paid;
    const { totalMinor, cashRoundingMinor } = this.#sale();
    return paid && !paid.settled ? restInCash(totalMinor, paid, cashRoundingMinor, this.restCash) : null;
  }
  /** The rest as card would take it: what the foreign cash leaves of the total, unrounded. */
  get restMinor(): number {
    return this.#sale().totalMinor - (this.paid?.creditMinor ?? 0);
  }
  /** "Still to pay": the rest in cash offline (rounded), what a card would take online. */
  get stillToPayMinor(): number {
    return this.#sale().offline ? (this.cashRest?.dueMinor ?? 0) : this.restMinor;
  }
  /** About how much more of the foreign currency would settle it. */
  get stillForeignMinor(): number {
    return (this.paid?.dueForeignMinor ?? 0) - (this.minor ?? 0);
  }
  /** The outlet's cash handed over for the rest is short by this much (null: not short, or none typed). */
  get restShortMinor(): number | null {
    const cash = this.restCash;
    const due = this.cashRest?.dueMinor ?? 0;
    return cash !== null && cash < due ? due - cash : null;
  }
  /** The exact amount due as the cashier would type it. */
  get exactText(): string {
    return minorText(this.dueMinor ?? 0, this.pair?.foreign.minor_units ?? 2);
  }
  /** Foreign minor units as the dialog shows them: "54.06 USD". */
  fmoney(minor: number): string {
    const info = this.info;
    return info ? `${minorText(minor, info.minor_units)} ${this.code}` : "";
  }

  // --- what the dialog does -------------------------------------------------------------------
  /** The dialog opened: nothing typed; the outlet's accepted currencies read once per outlet
   * (offline: the ones kept, asked again at the next opening). */
  opened(outletId: string): Promise<void> {
    this.text = "";
    this.restCashText = "";
    return this.#acceptedFor !== outletId ? this.loadAccepted(outletId) : Promise.resolve();
  }

  async loadAccepted(outletId: string): Promise<void> {
    this.#acceptedFor = outletId;
    const { currency } = this.#sale();
    try {
      if (this.#sale().offline) throw new Error("offline");
      const settings = await this.#ports.outletSettings(outletId);
      this.accepted = settings.accepted_currencies ?? [];
      if (this.accepted.length && Object.keys(this.currencies).length === 0) {
        const list = await this.#ports.currencies();
        this.currencies = Object.fromEntries(list.map((c) => [c.code, c]));
        const wanted = new Set([currency, ...this.accepted]);
        void this.#ports.rememberRates(currency, [], list.filter((c) => wanted.has(c.code))).catch(() => {});
      }
    } catch {
      // Offline (or settings not read): the accepted currencies and cash units the till
      // kept, for foreign cash at its kept rates; asked again when the dialog next opens.
      this.#acceptedFor = "";
      const kept = this.#ports.keptSettings(outletId);
      const rates = await this.#ports.keptRates(currency).catch(() => null);
      this.accepted = rates ? (kept?.accepted_currencies ?? []) : [];
      if (rates) this.currencies = { ...rates.currencies, ...this.currencies };
    }
  }

  /** The rate payments gives (kept on the till for offline), or offline the one kept. */
  async loadRate(code: string): Promise<void> {
    const { currency, offline, outletId } = this.#sale();
    this.rateLoading = true;
    this.rateError = "";
    this.rate = null;
    try {
      if (offline) {
        const kept = await this.#ports.keptRates(currency);
        this.rate = offlineRateView({
          code,
          accepted: this.accepted,
          cached: kept.rates[code],
          staleAfterDays: this.#ports.keptSettings(outletId)?.rates_stale_after_days ?? DEFAULT_STALE_AFTER_DAYS,
          nowMs: this.#ports.now(),
        });
        return;
      }
      const rate = await this.#ports.rate(currency, code);
      this.rate = rate;
      void this.#ports.rememberRates(currency, [rate]).catch(() => {});
    } catch (e) {
      this.rateError = describeError(e, `get the ${code} rate`);
    } finally {
      this.rateLoading = false;
    }
  }

  /** The cashier chose the currency handed over: nothing typed, its rate read. */
  async choose(code: string): Promise<void> {
    this.code = code;
    this.text = "";
    await this.loadRate(code);
    this.#hooks.onchosen?.();
  }

  /** Foreign cash was chosen as the way of paying: the one accepted currency chosen at
   * once, or the chosen one's rate read again. */
  async enter(): Promise<void> {
    if (!this.code && this.accepted.length === 1) await this.choose(this.accepted[0]);
    else if (this.code) await this.loadRate(this.code);
  }

  /** The server's rate is not the one shown (409): read it again. */
  rateChanged(): void {
    if (this.code) void this.loadRate(this.code);
  }

  /** F9 / "Exact": the amount due typed. */
  fillExact(): void {
    const due = this.dueMinor;
    const info = this.info;
    if (due !== null && info) this.text = minorText(due, info.minor_units);
  }

  /** The tenders for POST /api/sales (or the offline till), or what is missing. */
  tenders(cardToken: string | null): ForeignTenders {
    const { code, rate, info } = this;
    if (!code) return { problem: "Choose the currency the customer is paying in." };
    const pair = this.pair;
    if (!pair) return { problem: rate?.detail ? `${code} cash cannot be taken: ${rate.detail}` : `There is no usable ${code} rate yet.` };
    const foreignMinor = this.minor;
    const paid = this.paid;
    if (foreignMinor === null || paid === null) {
      const step = info && info.cash_unit_minor > 1 ? ` ${code} cash comes in steps of ${minorText(info.cash_unit_minor, info.minor_units)}.` : "";
      return { problem: `Type the ${code} received, like ${minorText(this.dueMinor ?? 0, info?.minor_units ?? 2)}.${step}`, focus: true };
    }
    const sale = this.#sale();
    return foreignSaleTenders({
      totalMinor: sale.totalMinor,
      code,
      foreignMinor,
      rate: pair.rate,
      part: paid,
      restCashMinor: this.restCash,
      cashRoundingMinor: sale.cashRoundingMinor,
      restByCard: this.restByCard,
      offline: sale.offline,
      cardToken,
      money: (minor) => formatMoney(minor, sale.currency),
      outletCurrency: sale.currency,
    });
  }
}
