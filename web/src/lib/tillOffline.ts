// The till's screens and the offline core (offlineSale, offlineQueue, pricing): the
// outlet's settings kept for when the services cannot be reached, a cart sold offline
// for cash, and the receipt the till prints for it (issue 15, docs/offline.md).

import { api } from "./api";
import { formatMoney } from "./money";
import type { CartLine, Discount, Quote } from "./cart";
import { payOnReader } from "./cardReader";
import type { CurrencyInfo } from "./foreignCash";
import { cachedRates, rememberRates, type RateCache, type RateView } from "./rateCache";
import { previewOfflineSale, takeOfflineSale, type OfflineSettings, type TakenOfflineSale } from "./offlineSale";
import { offlineStatus } from "./offlineStatus.svelte";
import { discountsNeedingApproval, policyAt, priceCart, PricingError, taxBands, type CatalogPrice, type ScheduledRate } from "./pricing";
import { receiptPartsFrom, type ReceiptSettings } from "./receiptSettings";
import type { Receipt } from "./types";
import { newId } from "./uuid";

const settingsKey = (outletId: string) => `pos.outletSettings.${outletId}`;

/** The outlet's settings from sales with its tax schedule (the rates to come, each from
 * its moment: ADR 0066), kept in localStorage for the till offline. */
export async function refreshOutletSettings(outletId: string): Promise<OfflineSettings | null> {
  try {
    const base = `/api/sales/outlets/${encodeURIComponent(outletId)}`;
    const [current, rates] = await Promise.all([
      api<OfflineSettings>(`${base}/settings`),
      // Without the schedule (a failed read) the one kept before stays.
      api<{ schedule: ScheduledRate[] }>(`${base}/tax-rates`).catch(() => null),
    ]);
    const schedule = rates
      ? rates.schedule.map((e) => ({ tax_class: e.tax_class, starts_at: e.starts_at, rate_bp: e.rate_bp }))
      : (cachedOutletSettings(outletId)?.tax_schedule ?? []);
    const settings: OfflineSettings = { ...current, tax_schedule: schedule };
    try {
      localStorage.setItem(settingsKey(outletId), JSON.stringify(settings));
    } catch {
      /* storage full or disabled: offline selling then refuses, saying why */
    }
    await refreshRateCache(settings.currency, settings.accepted_currencies ?? []);
    return settings;
  } catch {
    return cachedOutletSettings(outletId);
  }
}

/** Read the rates of the outlet's accepted currencies from payments and keep the usable
 * ones, with the currencies' cash units, for foreign cash offline (rateCache.ts). A
 * failed read keeps what was kept before; null then. */
export async function refreshRateCache(base: string, accepted: readonly string[]): Promise<RateCache | null> {
  if (!accepted.length) return null;
  try {
    const kept = await cachedRates(base);
    const wanted = new Set([base, ...accepted]);
    const [list, currencies] = await Promise.all([
      api<{ rates: RateView[] }>(`/api/payments/rates?base=${encodeURIComponent(base)}`),
      [...wanted].some((code) => !kept.currencies[code])
        ? api<{ currencies: CurrencyInfo[] }>("/api/identity/currencies").then((r) => r.currencies.filter((c) => wanted.has(c.code)))
        : Promise.resolve([]),
    ]);
    return await rememberRates(base, list.rates.filter((r) => wanted.has(r.currency)), currencies);
  } catch {
    return null;
  }
}

export function cachedOutletSettings(outletId: string): OfflineSettings | null {
  try {
    const saved = JSON.parse(localStorage.getItem(settingsKey(outletId)) ?? "null");
    return saved && typeof saved === "object" && saved.tax_rates_bp ? (saved as OfflineSettings) : null;
  } catch {
    return null;
  }
}

export class OfflineUnavailable extends Error {}

export interface OfflineCashSale {
  /** the id of the online attempt when there was one (the server then records it once) */
  id?: string;
  lines: readonly CartLine[];
  cartDiscount: Discount | null;
  cashTenderedMinor: number;
  outletId: string;
  register: { id: string; number?: number } | null;
  shiftId: string | null;
  cashierId: string | null;
  cashierName: string;
  managerPresent: boolean;
}

/** The cart's prices as the till keeps them (for pricing without the server). */
function shelfPrices(lines: readonly CartLine[]): Record<string, CatalogPrice> {
  const prices: Record<string, CatalogPrice> = {};
  for (const line of lines) {
    if (!line.taxClass) {
      throw new OfflineUnavailable(`${line.name} was added without its tax class: remove it and add it again, or wait until the till is back online.`);
    }
    prices[line.productId] = {
      product_id: line.productId,
      sku: line.sku,
      name: line.name,
      category_id: null,
      price_minor: line.unitPriceMinor,
      currency: line.currency,
      tax_class: line.taxClass,
    };
  }
  return prices;
}

/** The cart priced by the till itself (pricing.ts, the server's rules and the outlet's
 * settings kept for offline), in the shape of the server's quote: what the pay dialog
 * shows when the services cannot be reached, discounts and cash rounding included.
 * Throws OfflineUnavailable (no settings kept, a line without its tax class) or
 * PricingError (the server's words: no tax rate for a class, ...). */
export function offlineQuote(outletId: string, lines: readonly CartLine[], cartDiscount: Discount | null): Quote {
  const settings = cachedOutletSettings(outletId);
  if (!settings) {
    throw new OfflineUnavailable("This till has not loaded the outlet's tax settings yet, so it cannot price the sale offline. Wait until it is back online.");
  }
  const cart = priceCart(
    lines.map((l) => ({ product_id: l.productId, qty: l.qty, discount: l.discount ?? null })),
    shelfPrices(lines),
    policyAt(settings, new Date()),
    cartDiscount,
  );
  return {
    currency: cart.currency,
    lines: cart.lines.map((l) => ({
      line_no: l.line_no,
      product_id: l.product_id,
      sku: l.sku,
      name: l.name,
      category_id: l.category_id,
      qty: l.qty,
      unit_price_minor: l.unit_price_minor,
      gross_minor: l.gross_minor,
      discount_minor: l.discount_minor,
      tax_rate_bp: l.tax_rate_bp,
      tax_minor: l.tax_minor,
      total_minor: l.total_minor,
    })),
    tax: taxBands(cart),
    items: cart.items,
    gross_minor: cart.gross_minor,
    discount_minor: cart.discount_minor,
    subtotal_minor: cart.subtotal_minor,
    tax_minor: cart.tax_minor,
    total_minor: cart.total_minor,
    cash_rounding_minor: settings.cash_rounding_minor,
    prices_include_tax: cart.prices_include_tax,
    needs_approval: discountsNeedingApproval(cart, settings),
  };
}

/** offlineQuote, or the reason it cannot be priced offline (a message for the cashier). */
export function tryOfflineQuote(outletId: string, lines: readonly CartLine[], cartDiscount: Discount | null): { quote: Quote | null; error: string } {
  try {
    return { quote: offlineQuote(outletId, lines, cartDiscount), error: "" };
  } catch (e) {
    if (e instanceof OfflineUnavailable || e instanceof PricingError) return { quote: null, error: e.message };
    throw e;
  }
}

/** Take the cart offline for cash: priced by the till (pricing.ts, the server's rules),
 * numbered R<register>-OFF<n>, queued to sync. Throws OfflineRefused (the outlet's
 * limits, card, no register), PricingError, or OfflineUnavailable. */
export async function sellOfflineForCash(sale: OfflineCashSale): Promise<Receipt> {
  const settings = cachedOutletSettings(sale.outletId);
  if (!settings) {
    throw new OfflineUnavailable("This till has not loaded the outlet's tax settings yet, so it cannot sell offline. Wait until it is back online.");
  }
  const taken = await takeOfflineSale({
    ...offlineRequest(sale, settings, sale.id),
    tenders: [{ kind: "cash", amount_minor: sale.cashTenderedMinor }],
  });
  return offlineReceipt(taken, sale, settings);
}

/** Take the cart offline by card on the shop's card reader (deferred capture, ADR 0073):
 * the outlet's limits first (allowed, per sale, per till), then the reader keeps the
 * payment (store-and-forward), then the sale is queued with the reader's reference and
 * captured when it syncs. Throws OfflineRefused (the limits: the reason), ReaderRefused
 * (the reader's), PricingError or OfflineUnavailable. */
export async function sellOfflineByCard(sale: Omit<OfflineCashSale, "cashTenderedMinor">, pay: typeof payOnReader = payOnReader): Promise<Receipt> {
  const settings = cachedOutletSettings(sale.outletId);
  if (!settings) {
    throw new OfflineUnavailable("This till has not loaded the outlet's settings yet, so it cannot sell offline. Wait until it is back online.");
  }
  const id = sale.id ?? newId();
  const request = offlineRequest(sale, settings, id);
  const cart = await previewOfflineSale({ ...request, tenderKinds: ["card"] });
  const approval = await pay({
    url: settings.card_reader_url ?? "",
    transactionId: id,
    amountMinor: cart.total_minor,
    currency: cart.currency,
    storeAndForward: true,
    saleId: `R${sale.register?.number ?? 0}`,
  });
  const taken = await takeOfflineSale({ ...request, tenders: [{ kind: "card", amount_minor: cart.total_minor, reader_ref: approval.reference }] });
  return offlineReceipt(taken, sale, settings);
}

/** Take the cart offline for foreign cash at the rate this till kept (ADR 0061): the
 * currency accepted, its rate no older than the sync's limit (else OfflineRefused with
 * the reason), the arithmetic of the online dialog (foreignCash.ts); what the foreign
 * cash leaves is taken in the outlet's cash (`cashTenderedMinor`). Queued with the
 * rate, its source and date, as the server's offline sync takes it. */
export async function sellOfflineForeign(
  sale: Omit<OfflineCashSale, "cashTenderedMinor"> & { currency: string; foreignMinor: number; cashTenderedMinor: number | null },
): Promise<Receipt> {
  const settings = cachedOutletSettings(sale.outletId);
  if (!settings) {
    throw new OfflineUnavailable("This till has not loaded the outlet's settings yet, so it cannot sell offline. Wait until it is back online.");
  }
  const kept = await cachedRates(settings.currency);
  const rate = kept.rates[sale.currency];
  const local = kept.currencies[settings.currency];
  const foreign = kept.currencies[sale.currency];
  const taken = await takeOfflineSale({
    ...offlineRequest(sale, settings, sale.id),
    tenders: [
      { kind: "foreign_cash", amount_minor: sale.foreignMinor, currency: sale.currency },
      ...(sale.cashTenderedMinor ? [{ kind: "cash", amount_minor: sale.cashTenderedMinor }] : []),
    ],
    foreign: rate && local && foreign ? { rate, local, foreign } : null,
  });
  return offlineReceipt(taken, sale, settings);
}

/** What every offline sale hands to offlineSale.ts whatever pays it: the cart priced from
 * the till's prices, the outlet's settings and the till it is rung up on. */
function offlineRequest(sale: Omit<OfflineCashSale, "cashTenderedMinor">, settings: OfflineSettings, id: string | undefined) {
  return {
    id,
    lines: sale.lines.map((l) => ({ product_id: l.productId, qty: l.qty, discount: l.discount ?? null })),
    prices: shelfPrices(sale.lines),
    cartDiscount: sale.cartDiscount,
    settings,
    till: { outletId: sale.outletId, registerId: sale.register?.id ?? null, registerNumber: sale.register?.number ?? null, shiftId: sale.shiftId, cashierId: sale.cashierId },
    offlineSinceMs: offlineStatus.offlineSince,
    managerPresent: sale.managerPresent,
    formatMoney: (minor: number) => formatMoney(minor, settings.currency),
  };
}

function offlineReceipt(taken: TakenOfflineSale, sale: Omit<OfflineCashSale, "cashTenderedMinor">, settings: OfflineSettings): Receipt {
  const body = taken.body;
  return {
    sale_id: body.id,
    receipt_number: body.receipt_number,
    outlet_id: body.outlet_id,
    // as the server records it (offline.py): the register and shift the till sold on,
    // no approval or cart discount (offline sales take neither), due = total + rounding
    register_id: body.register_id ?? null,
    register_number: sale.register?.number ?? null,
    register_name: null,
    shift_id: body.shift_id ?? null,
    cashier_id: sale.cashierId ?? "",
    cashier_name: sale.cashierName,
    approved_by: null,
    status: "COMPLETED",
    currency: body.currency,
    lines: body.lines.map((line, i) => ({
      line_no: i + 1,
      ...line,
      category_id: line.category_id ?? null,
      gross_minor: line.unit_price_minor * line.qty,
    })),
    tax: taken.cart.lines.length ? bands(body.lines) : [],
    items: body.lines.reduce((n, l) => n + l.qty, 0),
    subtotal_minor: body.total_minor - body.tax_minor,
    tax_minor: body.tax_minor,
    total_minor: body.total_minor,
    gross_minor: body.lines.reduce((n, l) => n + l.unit_price_minor * l.qty, 0),
    discount_minor: body.lines.reduce((n, l) => n + l.discount_minor, 0),
    rounding_minor: body.rounding_minor,
    due_minor: body.total_minor + body.rounding_minor,
    cart_discount: null,
    prices_include_tax: body.prices_include_tax,
    tenders: body.tenders.map((t) => (t.kind === "card" ? { ...t, capture: "deferred" } : t)),
    tendered_minor: body.tenders.reduce((n, t) => n + t.tendered_minor, 0),
    change_minor: body.change_minor,
    completed_at: body.sold_at,
    offline: true,
    ...receiptPartsFrom(settings as Partial<ReceiptSettings>),
  };
}

function bands(lines: readonly { tax_rate_bp: number; tax_minor: number; total_minor: number }[]) {
  const by = new Map<number, { net: number; tax: number }>();
  for (const l of lines) {
    const b = by.get(l.tax_rate_bp) ?? { net: 0, tax: 0 };
    b.net += l.total_minor - l.tax_minor;
    b.tax += l.tax_minor;
    by.set(l.tax_rate_bp, b);
  }
  return [...by.entries()].sort(([a], [b]) => a - b).map(([rate_bp, b]) => ({ rate_bp, net_minor: b.net, tax_minor: b.tax }));
}
