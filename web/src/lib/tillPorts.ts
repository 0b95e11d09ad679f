// The pay dialog's modules wired to the real world (issue 18): the services through
// api.ts, the offline till (tillOffline.ts, rateCache.ts), the card reader
// (cardReader.ts), the logged-in till (session, shift). The modules themselves
// (payment.svelte.ts, foreignTender.svelte.ts, readerPayment.svelte.ts) take these as
// ports, and their unit tests take fakes instead; the browser tests drive these.
import { api } from "./api";
import type { CartLine, Discount } from "./cart";
import { payOnReader } from "./cardReader";
import type { CurrencyInfo } from "./foreignCash";
import type { ForeignPorts } from "./foreignTender.svelte";
import type { PaymentPorts } from "./payment.svelte";
import { cachedRates, rememberRates, type RateView } from "./rateCache";
import type { CardPorts } from "./readerPayment.svelte";
import { session } from "./session.svelte";
import { shiftStatus } from "./shiftStatus.svelte";
import { cachedOutletSettings, sellOfflineByCard, sellOfflineForCash, sellOfflineForeign } from "./tillOffline";
import type { Receipt } from "./types";
import { newId } from "./uuid";

export const foreignPorts: ForeignPorts = {
  outletSettings: (id) => api<{ accepted_currencies?: string[] }>(`/api/sales/outlets/${encodeURIComponent(id)}/settings`),
  currencies: async () => (await api<{ currencies: CurrencyInfo[] }>("/api/identity/currencies")).currencies,
  rate: (base, code) => api<RateView>(`/api/payments/rates/${base}/${code}`),
  keptSettings: cachedOutletSettings,
  keptRates: (base) => cachedRates(base),
  rememberRates: (base, seen, currencies) => rememberRates(base, seen, currencies),
  now: () => Date.now(),
};

export const cardPorts: CardPorts = {
  provider: async () => (await api<{ card_provider: string }>("/api/payments/provider")).card_provider,
  keptSettings: cachedOutletSettings,
  payOnReader: (request) => payOnReader(request),
};

/** The cart being paid, read when the sale is taken. */
export interface CartOfSale {
  outletId: string;
  lines: readonly CartLine[];
  cartDiscount: Discount | null;
}

/** The sales API, the offline till and the reader for PaymentFlow. */
export function paymentPorts(cart: () => CartOfSale, takeOnReader: PaymentPorts["takeOnReader"]): PaymentPorts {
  // The cart and the till an offline sale is rung up on, read when the sale is taken.
  const ofSale = () => {
    const { outletId, lines, cartDiscount } = cart();
    return {
      lines,
      cartDiscount,
      outletId,
      register: session.register ? { id: session.register.id, number: session.register.number } : null,
      shiftId: shiftStatus.shift?.id ?? null,
      cashierId: session.user?.id ?? null,
      cashierName: session.user?.name ?? "",
      managerPresent: session.isManager,
    };
  };
  return {
    postSale: (body) => api<Receipt>("/api/sales", { method: "POST", body, timeoutMs: 45_000 }),
    getSale: (id) => api<Receipt & { status: string }>(`/api/sales/${encodeURIComponent(id)}`),
    sellOffline: (id, cashTenderedMinor) => sellOfflineForCash({ id, cashTenderedMinor, ...ofSale() }),
    sellOfflineForeign: (id, tenders) =>
      sellOfflineForeign({
        id,
        currency: tenders[0].currency ?? "",
        foreignMinor: tenders[0].amount_minor,
        cashTenderedMinor: tenders.find((t) => t.kind === "cash")?.amount_minor ?? null,
        ...ofSale(),
      }),
    sellOfflineByCard: (id) => sellOfflineByCard({ id, ...ofSale() }),
    takeOnReader,
    newId,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    storage: typeof sessionStorage === "undefined" ? null : sessionStorage,
  };
}
