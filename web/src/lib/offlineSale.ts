// Taking a sale offline (issue 15): the outlet's offline limits checked before the sale
// is taken, the body of POST /api/sales/offline built from a cart priced by pricing.ts,
// and the offline receipt number R<register number>-OFF<000001> from a per-register
// sequence in IndexedDB, taken in the same transaction that queues the sale: a number is
// never given twice, across reloads and tabs (IndexedDB runs read-write transactions on
// the same stores one after the other).

import { foreignPart, minorText, restInCash, type CurrencyInfo } from "./foreignCash";
import { oldestUnsynced, openOfflineDb, type OfflineDb, type OfflineSaleBody, type OfflineTender, type QueuedSale } from "./offlineDb";
import { discountsNeedingApproval, policyAt, priceCart, PricingError, settle, type CartLineIn, type CatalogPrice, type Discount, type PricedCart, type PricingPolicy, type Settlement } from "./pricing";
import { DEFAULT_STALE_AFTER_DAYS, offlineRateProblem, type CachedRate } from "./rateCache";
import { newId } from "./uuid";

export type { OfflineSaleBody } from "./offlineDb";

/** The outlet's offline limits (GET /api/sales/outlets/{id}/settings). */
export interface OfflineLimits {
  /** the longest a till sells offline before it stops (0: never offline) */
  offline_max_hours: number;
  /** the largest sale a till takes offline (0: no limit) */
  offline_max_sale_minor: number;
  /** deferred card capture (ADR 0073): cards taken offline on the shop's card reader */
  offline_card_allowed?: boolean;
  /** the largest card payment taken offline */
  offline_card_max_sale_minor?: number;
  /** the most this till holds in card payments taken offline and not synced yet */
  offline_card_max_device_minor?: number;
  /** where the till reaches the card reader ('' = none) */
  card_reader_url?: string;
  /** foreign currencies the outlet takes as cash (ISO 4217) */
  accepted_currencies?: string[];
  /** the server's POS_RATES_STALE_AFTER_DAYS: foreign cash offline only at a kept rate up to this old */
  rates_stale_after_days?: number;
}

/** The outlet settings the offline till needs: pricing, currency and limits. */
export type OfflineSettings = PricingPolicy & OfflineLimits & { currency: string };

/** Where the sale is rung: from the session (outlet, register with its number, open shift). */
export interface TillContext {
  outletId: string;
  registerId: string | null;
  /** identity's register number (GET /api/identity/registers: `number`) */
  registerNumber: number | null;
  shiftId: string | null;
  /** the user logged in when the sale is taken (sales records the sale under them) */
  cashierId?: string | null;
}

/** A sale the till must not take offline; the message says why and what to do. */
export class OfflineRefused extends Error {
  readonly code:
    | "never_offline"
    | "offline_too_long"
    | "sale_too_large"
    | "card_offline"
    | "card_too_large"
    | "card_device_limit"
    | "no_register"
    | "discount_needs_manager"
    | "nothing_to_pay"
    | "already_taken"
    | "foreign_not_accepted"
    | "foreign_no_rate"
    | "foreign_stale_rate"
    | "foreign_short";
  constructor(code: OfflineRefused["code"], message: string) {
    super(message);
    this.name = "OfflineRefused";
    this.code = code;
  }
}

const HOUR = 3_600_000;
export const MAX_OFFLINE_SEQUENCE = 999_999_999; // the server takes 6 to 9 digits
const MAX_MINOR = 10 ** 12; // the server's bound on every amount

/** R<register number>-OFF<sequence, at least 6 digits>: the server's OFFLINE_RECEIPT. */
export function offlineReceiptNumber(registerNumber: number, sequence: number): string {
  if (!Number.isInteger(registerNumber) || registerNumber < 0 || registerNumber > 999) throw new RangeError(`register number ${registerNumber} is not 0-999`);
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > MAX_OFFLINE_SEQUENCE) throw new RangeError(`offline sequence ${sequence} is out of range`);
  return `R${registerNumber}-OFF${String(sequence).padStart(6, "0")}`;
}

function hours(ms: number): string {
  const h = ms / HOUR;
  return h >= 10 ? `${Math.floor(h)} h` : `${Math.floor(h * 10) / 10} h`;
}

/**
 * Whether the till may take this sale offline; throws OfflineRefused with the reason.
 * `offlineSinceMs`: when the till lost the services (connectivity) or its oldest unsynced
 * sale, whichever is earlier (null: just now).
 */
export function checkOfflineSale(args: {
  limits: OfflineLimits;
  till: TillContext;
  totalMinor: number;
  tenderKinds: readonly string[];
  offlineSinceMs: number | null;
  nowMs: number;
  formatMoney?: (minor: number) => string;
  /** card payments taken offline on this till and not synced yet (deferred capture) */
  pendingCardMinor?: number;
  /** foreign cash: its currency and the rate this till kept for it (none: not kept) */
  foreign?: { currency: string; rate: CachedRate | undefined };
}): void {
  const { limits, till, totalMinor, tenderKinds, nowMs } = args;
  const money = args.formatMoney ?? ((minor: number) => String(minor));
  if (limits.offline_max_hours <= 0) {
    throw new OfflineRefused("never_offline", "This outlet does not sell while the till is offline. Wait until the till is back online.");
  }
  if (!till.registerId || till.registerNumber === null) {
    throw new OfflineRefused("no_register", "Offline sales need a register: choose this till's register while the till is online.");
  }
  if (tenderKinds.some((kind) => kind !== "cash" && kind !== "foreign_cash")) checkOfflineCard(limits, tenderKinds, totalMinor, args.pendingCardMinor ?? 0, money);
  if (tenderKinds.includes("foreign_cash")) checkOfflineForeign(limits, args.foreign, nowMs);
  const since = Math.min(args.offlineSinceMs ?? nowMs, nowMs);
  if (nowMs - since > limits.offline_max_hours * HOUR) {
    throw new OfflineRefused(
      "offline_too_long",
      `The till has been offline for ${hours(nowMs - since)}; this outlet allows ${limits.offline_max_hours} h. No more sales until it is back online and its sales are synced.`,
    );
  }
  if (limits.offline_max_sale_minor > 0 && totalMinor > limits.offline_max_sale_minor) {
    throw new OfflineRefused(
      "sale_too_large",
      `A sale of ${money(totalMinor)} is above the ${money(limits.offline_max_sale_minor)} this outlet allows offline. Split it, or wait until the till is back online.`,
    );
  }
}

/** Whether a card may be taken offline (deferred capture, ADR 0073): the outlet allows
 * it, the card pays the whole sale (no split offline), within the per-sale limit, and
 * with what this till already holds unsynced, within the per-device limit. */
export function checkOfflineCard(limits: OfflineLimits, tenderKinds: readonly string[], cardMinor: number, pendingCardMinor: number, money: (minor: number) => string = String): void {
  if (!limits.offline_card_allowed || !limits.card_reader_url) {
    throw new OfflineRefused("card_offline", "Card payments cannot be taken while the till is offline: this outlet does not allow cards offline. Take cash, or wait until the till is back online.");
  }
  if (tenderKinds.length !== 1 || tenderKinds[0] !== "card") {
    throw new OfflineRefused("card_offline", "Offline, a card pays the whole sale on its own (no split, no foreign cash). Take the card for all of it, or cash.");
  }
  const perSale = limits.offline_card_max_sale_minor ?? 0;
  if (cardMinor > perSale) {
    throw new OfflineRefused(
      "card_too_large",
      `A card payment of ${money(cardMinor)} is above the ${money(perSale)} this outlet allows by card while the till is offline. Take cash, or wait until the till is back online.`,
    );
  }
  const perDevice = limits.offline_card_max_device_minor ?? 0;
  if (pendingCardMinor + cardMinor > perDevice) {
    throw new OfflineRefused(
      "card_device_limit",
      `This till already holds ${money(pendingCardMinor)} in card payments taken offline; with ${money(cardMinor)} more it would pass the ${money(perDevice)} this outlet allows before they are sent. Take cash, or wait until the till is back online.`,
    );
  }
}

/** Whether foreign cash may be taken offline at the rate this till kept (ADR 0061): a
 * currency the outlet takes, with a kept rate no older than the limit the sync checks. */
export function checkOfflineForeign(limits: OfflineLimits, foreign: { currency: string; rate: CachedRate | undefined } | undefined, nowMs: number): void {
  const code = foreign?.currency ?? "";
  const problem = offlineRateProblem({
    code,
    accepted: limits.accepted_currencies ?? [],
    cached: foreign?.rate,
    staleAfterDays: limits.rates_stale_after_days ?? DEFAULT_STALE_AFTER_DAYS,
    nowMs,
  });
  if (problem) throw new OfflineRefused(problem.code, `${code} cash cannot be taken offline: ${problem.message}`);
}

/** Foreign cash offline: the currency handed over, at the rate this till kept. */
export interface OfflineForeign {
  rate: CachedRate;
  local: CurrencyInfo;
  foreign: CurrencyInfo;
}

/** The foreign tender as the server's offline sync takes it (schemas.py OfflineTenderIn). */
type ForeignTender = Extract<OfflineTender, { kind: "foreign_cash" }>;

/**
 * Settle foreign cash (and outlet cash for what it leaves) with the arithmetic the pay
 * dialog shows and the server checks (foreignCash.ts = pos_platform.conversion): the
 * foreign cash pays all that is due, its change given in the outlet's currency; or it
 * pays part, credited at its value rounded down, and the rest is cash in the outlet's
 * currency with the outlet's cash rounding.
 */
export function settleForeign(
  totalMinor: number,
  foreignMinor: number,
  cashMinor: number | null,
  fx: OfflineForeign,
  cashRoundingMinor: number,
): { settlement: Settlement; tender: ForeignTender } {
  const pair = { local: fx.local, foreign: fx.foreign, rate: fx.rate.rate };
  if (foreignMinor <= 0 || foreignMinor % fx.foreign.cash_unit_minor !== 0) {
    throw new PricingError(`${foreignMinor} ${fx.foreign.code} minor units cannot have been handed over (cash unit ${fx.foreign.cash_unit_minor})`);
  }
  const part = foreignPart(totalMinor, foreignMinor, pair);
  if (part.creditMinor <= 0) throw new PricingError(`${foreignMinor} ${fx.foreign.code} minor units is worth less than a minor unit of ${fx.local.code}`);
  const tender: ForeignTender = {
    kind: "foreign_cash",
    amount_minor: part.creditMinor,
    tendered_minor: part.creditMinor + part.changeMinor,
    currency: fx.foreign.code,
    foreign_minor: foreignMinor,
    rate: fx.rate.rate,
    rate_source: fx.rate.source,
    rate_as_of: fx.rate.reference_date,
  };
  if (part.settled) {
    if (cashMinor) throw new PricingError(`the ${fx.foreign.code} cash pays it all: take no cash besides`);
    const settlement: Settlement = {
      tenders: [{ kind: "foreign_cash", amount_minor: tender.amount_minor, tendered_minor: tender.tendered_minor, card_token: null }],
      tendered_minor: tender.tendered_minor,
      change_minor: part.changeMinor,
      rounding_minor: 0,
      due_minor: totalMinor,
    };
    return { settlement, tender };
  }
  const rest = restInCash(totalMinor, part, cashRoundingMinor, cashMinor);
  if (!rest.enough || cashMinor === null) {
    throw new OfflineRefused("foreign_short", `The ${fx.foreign.code} cash leaves ${minorText(rest.dueMinor, fx.local.minor_units)} ${fx.local.code} to pay: take the rest in ${fx.local.code} cash, or more ${fx.foreign.code}.`);
  }
  const settlement: Settlement = {
    tenders: [
      { kind: "foreign_cash", amount_minor: tender.amount_minor, tendered_minor: tender.tendered_minor, card_token: null },
      { kind: "cash", amount_minor: rest.dueMinor, tendered_minor: cashMinor, card_token: null },
    ],
    tendered_minor: tender.tendered_minor + cashMinor,
    change_minor: rest.changeMinor,
    rounding_minor: rest.roundingMinor,
    due_minor: totalMinor + rest.roundingMinor,
  };
  return { settlement, tender };
}

/** Card payments taken offline and still in the queue (not captured yet). */
export async function pendingCardMinor(db: OfflineDb): Promise<number> {
  const queued = await db.getAll("queue");
  let total = 0;
  for (const sale of queued) for (const t of sale.body.tenders) if (t.kind === "card") total += t.amount_minor;
  return total;
}

/** The body of POST /api/sales/offline for a priced cart and its settled cash. */
export function buildOfflineSale(args: {
  id: string;
  cart: PricedCart;
  settlement: Settlement;
  till: TillContext;
  receiptNumber: string;
  soldAt: Date;
  /** the card reader's reference of the card tender (deferred capture) */
  readerRef?: string | null;
  /** the foreign-cash tender (settleForeign) */
  foreign?: ForeignTender | null;
}): OfflineSaleBody {
  const { cart, settlement, till } = args;
  if (!till.registerId) throw new OfflineRefused("no_register", "Offline sales need a register.");
  const body: OfflineSaleBody = {
    id: args.id,
    outlet_id: till.outletId,
    register_id: till.registerId,
    receipt_number: args.receiptNumber,
    sold_at: args.soldAt.toISOString(),
    currency: cart.currency,
    prices_include_tax: cart.prices_include_tax,
    lines: cart.lines.map((l) => ({
      product_id: l.product_id,
      sku: l.sku,
      name: l.name,
      category_id: l.category_id,
      qty: l.qty,
      unit_price_minor: l.unit_price_minor,
      discount_minor: l.discount_minor,
      tax_rate_bp: l.tax_rate_bp,
      tax_minor: l.tax_minor,
      total_minor: l.total_minor,
    })),
    total_minor: cart.total_minor,
    tax_minor: cart.tax_minor,
    rounding_minor: settlement.rounding_minor,
    tenders: settlement.tenders.map((t): OfflineTender => {
      if (t.kind === "foreign_cash" && args.foreign) return args.foreign;
      if (t.kind === "card" && args.readerRef) {
        return { kind: "card" as const, amount_minor: t.amount_minor, tendered_minor: t.amount_minor, reader_ref: args.readerRef };
      }
      if (t.kind !== "cash") throw new OfflineRefused("card_offline", "Card payments cannot be taken while the till is offline without the card reader.");
      return { kind: "cash" as const, amount_minor: t.amount_minor, tendered_minor: t.tendered_minor };
    }),
    change_minor: settlement.change_minor,
  };
  if (till.shiftId) body.shift_id = till.shiftId;
  if (till.cashierId) body.cashier_id = till.cashierId;
  return body;
}

export interface OfflineSaleRequest {
  /** the cart's id (a UUID; a new one when absent) */
  id?: string;
  lines: readonly CartLineIn[];
  prices: Readonly<Record<string, CatalogPrice>> | ReadonlyMap<string, CatalogPrice>;
  cartDiscount?: Discount | null;
  /** what the customer handed over, per tender (cash, one card taken on the reader, or
   * foreign cash: `amount_minor` in minor units of its currency, with cash for the rest) */
  tenders: readonly { kind: string; amount_minor: number; reader_ref?: string; currency?: string }[];
  /** foreign cash: the rate this till kept and the two currencies (rateCache.ts) */
  foreign?: OfflineForeign | null;
  settings: OfflineSettings;
  till: TillContext;
  /** when the till lost the services (connectivity.offlineSince), null: just now */
  offlineSinceMs: number | null;
  /** a manager is logged in: a discount above the threshold is theirs (no PIN offline) */
  managerPresent?: boolean;
  now?: () => number;
  formatMoney?: (minor: number) => string;
}

export interface TakenOfflineSale {
  body: OfflineSaleBody;
  cart: PricedCart;
  settlement: Settlement;
  queued: QueuedSale;
}

/** The figures of a cart offline, and whether the till may take it (before payment:
 * the pay dialog shows the refusal instead of the buttons). Throws PricingError or
 * OfflineRefused. */
export async function previewOfflineSale(
  request: Omit<OfflineSaleRequest, "tenders" | "foreign"> & { tenderKinds?: readonly string[]; foreign?: { currency: string; rate: CachedRate | undefined } },
  db?: OfflineDb,
): Promise<PricedCart> {
  const nowMs = (request.now ?? Date.now)();
  // The rates in effect at the sale's moment (the outlet's tax schedule, ADR 0066).
  const cart = priceCart(request.lines, request.prices, policyAt(request.settings, new Date(nowMs)), request.cartDiscount ?? null);
  const database = db ?? (await openOfflineDb());
  const oldest = await oldestUnsynced(database);
  const kinds = request.tenderKinds ?? ["cash"];
  checkOfflineSale({
    limits: request.settings,
    till: request.till,
    totalMinor: cart.total_minor,
    tenderKinds: kinds,
    offlineSinceMs: earliest(request.offlineSinceMs, oldest?.created_at ?? null),
    nowMs,
    formatMoney: request.formatMoney,
    pendingCardMinor: kinds.includes("card") ? await pendingCardMinor(database) : 0,
    foreign: request.foreign,
  });
  if (!request.managerPresent && discountsNeedingApproval(cart, request.settings).length) {
    throw new OfflineRefused("discount_needs_manager", "This discount needs a manager's approval, which cannot be given while the till is offline. Lower it, or ask a manager to log in.");
  }
  return cart;
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/**
 * Take a sale offline: price it, check the limits, settle the cash, then in ONE
 * IndexedDB transaction take the register's next offline receipt number and queue the
 * sale. Returns the body (print the receipt from it: "taken offline") and the queue row.
 * Throws PricingError (the cart or the cash does not add up) or OfflineRefused.
 */
export async function takeOfflineSale(request: OfflineSaleRequest, db?: OfflineDb): Promise<TakenOfflineSale> {
  const database = db ?? (await openOfflineDb());
  const soldAtMs = (request.now ?? Date.now)();
  const fx = request.foreign ?? null;
  const foreignIn = request.tenders.find((t) => t.kind === "foreign_cash");
  const cart = await previewOfflineSale(
    {
      ...request,
      now: () => soldAtMs,
      tenderKinds: request.tenders.map((t) => t.kind),
      foreign: foreignIn ? { currency: fx?.foreign.code ?? foreignIn.currency ?? "", rate: fx?.rate } : undefined,
    },
    database,
  );
  if (cart.total_minor <= 0) throw new OfflineRefused("nothing_to_pay", "A sale of nothing to pay cannot be taken offline. Wait until the till is back online.");
  let settlement: Settlement;
  let foreign: ForeignTender | null = null;
  if (foreignIn && fx) {
    if (request.tenders.filter((t) => t.kind === "foreign_cash").length > 1) throw new PricingError("one foreign-cash tender per sale: add the notes up into one");
    const cash = request.tenders.filter((t) => t.kind === "cash");
    const cashMinor = cash.length ? cash.reduce((n, t) => n + t.amount_minor, 0) : null;
    ({ settlement, tender: foreign } = settleForeign(cart.total_minor, foreignIn.amount_minor, cashMinor, fx, request.settings.cash_rounding_minor));
  } else {
    settlement = settle(cart.total_minor, request.tenders, request.settings.cash_rounding_minor);
  }
  // The server takes cash tenders of more than 0 (a total the cash rounding takes to 0
  // cannot be recorded offline) and amounts up to 10^12.
  if (settlement.due_minor <= 0) throw new OfflineRefused("nothing_to_pay", "A sale of nothing to pay in cash cannot be taken offline. Wait until the till is back online.");
  if (settlement.tendered_minor > MAX_MINOR) throw new OfflineRefused("sale_too_large", "That amount is too large for one sale.");
  const till = request.till;
  const registerId = till.registerId as string;
  const registerNumber = till.registerNumber as number;
  const id = request.id ?? newId();
  const tx = database.transaction(["counters", "queue"], "readwrite");
  tx.done.catch(() => {}); // an abort is reported by the request that failed, below
  const counters = tx.objectStore("counters");
  const queue = tx.objectStore("queue");
  // Nothing but IndexedDB requests is awaited inside: the transaction stays open, and
  // the number and the queued sale are committed together or not at all.
  const counter = await counters.get(registerId);
  const sequence = (counter?.last ?? 0) + 1;
  if (sequence > MAX_OFFLINE_SEQUENCE) {
    tx.abort();
    throw new RangeError("the offline receipt sequence is exhausted");
  }
  const readerRef = request.tenders.find((t) => t.kind === "card")?.reader_ref ?? null;
  const body = buildOfflineSale({ id, cart, settlement, till, receiptNumber: offlineReceiptNumber(registerNumber, sequence), soldAt: new Date(soldAtMs), readerRef, foreign });
  const queued: QueuedSale = {
    id,
    register_id: registerId,
    body,
    created_at: soldAtMs,
    status: "pending",
    attempts: 0,
    last_status: null,
    last_error: null,
    last_attempt_at: null,
  };
  try {
    await counters.put({ register_id: registerId, last: sequence });
    queued.seq = await queue.add(queued);
    await tx.done;
  } catch (error) {
    // The same sale id queued twice (a double tap): nothing taken, the number not used.
    if ((error as { name?: string } | null)?.name === "ConstraintError") {
      throw new OfflineRefused("already_taken", "This sale is already taken and queued.");
    }
    throw error;
  }
  notifyQueueChanged();
  return { body, cart, settlement, queued };
}

/** The last offline receipt sequence given for a register (0: none yet). */
export async function lastOfflineSequence(registerId: string, db?: OfflineDb): Promise<number> {
  const database = db ?? (await openOfflineDb());
  return (await database.get("counters", registerId))?.last ?? 0;
}

// Other tabs (and this one) hear that the queue changed; the queue listens (offlineQueue.ts).
export const QUEUE_CHANNEL = "pos-offline-queue";

export function notifyQueueChanged(): void {
  if (typeof BroadcastChannel === "undefined") return;
  const channel = new BroadcastChannel(QUEUE_CHANNEL);
  channel.postMessage("changed");
  channel.close();
}
