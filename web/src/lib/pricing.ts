// The sales service's pricing domain (services/sales/pos_sales/domain.py) in TypeScript,
// for the till when it cannot ask the server for a quote (offline). Integer minor units
// only; tax rates and percentage discounts in basis points. Every function mirrors its
// Python namesake line by line, including its error messages, and the shared vectors
// (pricing.vectors.json, made by scripts/pricing_vectors.py) prove the figures are the
// server's. Products that could pass 2^53 are computed with BigInt.

export type RoundingMode = "half_up" | "half_even" | "down" | "up";
export const ROUNDING_MODES: readonly RoundingMode[] = ["half_up", "half_even", "down", "up"];

/** The cart or its tenders cannot be accepted; the message tells the cashier why (the
 * server's CheckoutError, same words). */
export class PricingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PricingError";
  }
}

const SAFE = Number.MAX_SAFE_INTEGER;

function checkInt(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
}

function divRoundBig(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n || mode === "down") return quotient;
  if (mode === "up") return quotient + 1n;
  const twice = 2n * remainder;
  if (twice > denominator || (twice === denominator && (mode === "half_up" || quotient % 2n === 1n))) return quotient + 1n;
  return quotient;
}

/** numerator / denominator for a non-negative numerator and a positive denominator,
 * rounded as `mode` says (domain.div_round). */
export function divRound(numerator: number, denominator: number, mode: RoundingMode = "half_up"): number {
  checkInt(numerator, "numerator");
  checkInt(denominator, "denominator");
  if (numerator < 0 || denominator <= 0) throw new RangeError("div_round takes a non-negative numerator and a positive denominator");
  if (!ROUNDING_MODES.includes(mode)) throw new RangeError(`unknown rounding mode '${mode}'`);
  let quotient = Math.floor(numerator / denominator);
  let remainder = numerator - quotient * denominator;
  // The float division may land one off for large operands: settle it exactly.
  if (remainder < 0) {
    quotient -= 1;
    remainder += denominator;
  } else if (remainder >= denominator) {
    quotient += 1;
    remainder -= denominator;
  }
  if (remainder === 0 || mode === "down") return quotient;
  if (mode === "up") return quotient + 1;
  const twice = 2 * remainder;
  if (twice > denominator || (twice === denominator && (mode === "half_up" || quotient % 2 === 1))) return quotient + 1;
  return quotient;
}

/** a * b / d rounded as `mode` says, exact whatever the size of a * b. */
export function mulDivRound(a: number, b: number, d: number, mode: RoundingMode = "half_up"): number {
  checkInt(a, "a");
  checkInt(b, "b");
  const product = a * b;
  if (Math.abs(product) <= SAFE) return divRound(product, d, mode);
  if (a < 0 || b < 0 || d <= 0) throw new RangeError("div_round takes a non-negative numerator and a positive denominator");
  if (!ROUNDING_MODES.includes(mode)) throw new RangeError(`unknown rounding mode '${mode}'`);
  return toSafe(divRoundBig(BigInt(a) * BigInt(b), BigInt(d), mode));
}

function toSafe(value: bigint): number {
  if (value > BigInt(SAFE) || value < -BigInt(SAFE)) throw new RangeError(`${value} is beyond a safe integer`);
  return Number(value);
}

/** Cash rounding: `amount` to the nearest multiple of `increment` (halves go up). */
export function roundToIncrement(amount: number, increment: number): number {
  if (increment <= 1) return amount;
  return divRound(amount, increment, "half_up") * increment;
}

export interface Discount {
  kind: "percent" | "amount";
  /** percent: basis points (1000 = 10 %); amount: minor units */
  value: number;
  reason?: string;
}

/** How much a discount takes off `baseMinor` (never more than all of it). */
export function discountAmount(discount: Discount, baseMinor: number, mode: RoundingMode): number {
  if (discount.value < 0) throw new PricingError("a discount cannot be negative");
  if (discount.kind === "percent") {
    if (discount.value > 10_000) throw new PricingError("a percentage discount cannot exceed 100 %");
    return mulDivRound(baseMinor, discount.value, 10_000, mode);
  }
  return Math.min(discount.value, baseMinor);
}

/** A tax class's rate from an instant on (GET /api/sales/outlets/{id}/tax-rates: the
 * outlet's local midnight of the rate's date, in UTC). ADR 0066. */
export interface ScheduledRate {
  tax_class: string;
  /** ISO 8601 UTC, e.g. "2026-12-31T23:00:00Z" */
  starts_at: string;
  rate_bp: number;
}

/** How an outlet prices (its settings from GET /api/sales/outlets/{id}/settings). */
export interface PricingPolicy {
  /** the rates in effect when the settings were read */
  tax_rates_bp: Record<string, number>;
  /** rates from a moment on (the outlet's schedule): see policyAt */
  tax_schedule?: readonly ScheduledRate[];
  prices_include_tax: boolean;
  rounding_mode: RoundingMode;
  /** 5: cash totals to the nearest 0.05; 0 or 1: none */
  cash_rounding_minor: number;
  /** a discount above this share of what it applies to needs a manager (2000 = 20 %) */
  discount_approval_bp: number;
}

/** The rate per tax class at `at`: the latest scheduled rate that has started by then,
 * else `current` (domain.rates_in_effect). A class only in the schedule is ignored. */
export function ratesInEffect(current: Readonly<Record<string, number>>, schedule: readonly ScheduledRate[], at: Date): Record<string, number> {
  const rates: Record<string, number> = { ...current };
  const started: Record<string, number> = {};
  const moment = at.getTime();
  for (const entry of schedule) {
    const starts = Date.parse(entry.starts_at);
    if (Number.isNaN(starts)) throw new PricingError(`tax schedule: ${entry.starts_at} is not a moment`);
    if (!Object.hasOwn(rates, entry.tax_class) || starts > moment) continue;
    if (!Object.hasOwn(started, entry.tax_class) || starts >= started[entry.tax_class]) {
      started[entry.tax_class] = starts;
      rates[entry.tax_class] = entry.rate_bp;
    }
  }
  return rates;
}

/** The policy with the tax rates in effect at `at` (the sale's moment; offline: its sold_at). */
export function policyAt<P extends PricingPolicy>(policy: P, at: Date): P {
  if (!policy.tax_schedule?.length) return policy;
  return { ...policy, tax_rates_bp: ratesInEffect(policy.tax_rates_bp, policy.tax_schedule, at) };
}

/** A product's shelf price at the outlet, as the till's catalogue replica has it. */
export interface CatalogPrice {
  product_id: string;
  sku: string;
  name: string;
  category_id: string | null;
  price_minor: number;
  currency: string;
  tax_class: string;
}

export interface CartLineIn {
  product_id: string;
  qty: number;
  discount?: Discount | null;
}

export interface PricedLine {
  line_no: number;
  product_id: string;
  sku: string;
  name: string;
  category_id: string | null;
  qty: number;
  unit_price_minor: number;
  tax_rate_bp: number;
  tax_minor: number;
  /** what the customer pays for this line, tax included, after discounts */
  total_minor: number;
  /** unit price x qty, before discounts */
  gross_minor: number;
  line_discount_minor: number;
  cart_discount_minor: number;
  /** line + cart discount */
  discount_minor: number;
  /** total - tax */
  net_minor: number;
}

export interface TaxBand {
  rate_bp: number;
  net_minor: number;
  tax_minor: number;
}

export interface PricedCart {
  currency: string;
  lines: PricedLine[];
  cart_discount: Discount | null;
  prices_include_tax: boolean;
  total_minor: number;
  tax_minor: number;
  /** total before tax */
  subtotal_minor: number;
  /** shelf prices x quantities, before discounts */
  gross_minor: number;
  discount_minor: number;
  items: number;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Split `amount` over `weights` in proportion (largest remainder, ties to the earlier
 * line): the parts add up to `amount` exactly and none exceeds its weight when amount <=
 * sum(weights). */
export function allocate(amount: number, weights: readonly number[]): number[] {
  const total = sum(weights);
  if (amount < 0 || weights.some((w) => w < 0)) throw new RangeError("allocate takes non-negative amounts");
  if (total === 0) return weights.map(() => 0);
  const big = weights.some((w) => amount * w > SAFE);
  let shares: number[];
  let rests: number[] | bigint[];
  if (big) {
    const a = BigInt(amount);
    const t = BigInt(total);
    shares = weights.map((w) => toSafe((a * BigInt(w)) / t));
    rests = weights.map((w) => (a * BigInt(w)) % t);
  } else {
    shares = weights.map((w) => Math.floor((amount * w) / total));
    // The float division above may be one off for large operands: make it exact.
    shares = shares.map((s, i) => {
      let q = s;
      while (q * total > amount * weights[i]) q -= 1;
      while ((q + 1) * total <= amount * weights[i]) q += 1;
      return q;
    });
    rests = weights.map((w, i) => amount * w - shares[i] * total);
  }
  const order = weights.map((_, i) => i);
  order.sort((i, j) => {
    const ri = rests[i];
    const rj = rests[j];
    if (ri !== rj) return ri > rj ? -1 : 1; // larger remainder first
    return i - j;
  });
  const left = amount - sum(shares);
  for (const i of order.slice(0, Math.max(left, 0))) shares[i] += 1;
  return shares;
}

function finishLine(
  lineNo: number,
  price: CatalogPrice,
  qty: number,
  rateBp: number,
  lineDiscount: number,
  cartDiscount: number,
  pricesIncludeTax: boolean,
  mode: RoundingMode,
): PricedLine {
  if (qty <= 0) throw new PricingError(`line ${lineNo}: quantity must be at least 1`);
  const gross = price.price_minor * qty;
  const amount = gross - lineDiscount - cartDiscount;
  let tax: number;
  let total: number;
  if (pricesIncludeTax) {
    tax = mulDivRound(amount, rateBp, 10_000 + rateBp, mode);
    total = amount;
  } else {
    tax = mulDivRound(amount, rateBp, 10_000, mode);
    total = amount + tax;
  }
  return {
    line_no: lineNo,
    product_id: price.product_id,
    sku: price.sku,
    name: price.name,
    category_id: price.category_id,
    qty,
    unit_price_minor: price.price_minor,
    tax_rate_bp: rateBp,
    tax_minor: tax,
    total_minor: total,
    gross_minor: gross,
    line_discount_minor: lineDiscount,
    cart_discount_minor: cartDiscount,
    discount_minor: lineDiscount + cartDiscount,
    net_minor: total - tax,
  };
}

/** Price each line from the replica's prices, apply line discounts, then the cart
 * discount (shared over the lines in proportion to what is left of them), then tax per
 * line (domain.price_cart). Throws PricingError with the server's words. */
export function priceCart(
  requested: readonly CartLineIn[],
  prices: Readonly<Record<string, CatalogPrice>> | ReadonlyMap<string, CatalogPrice>,
  policy: PricingPolicy,
  cartDiscount: Discount | null = null,
): PricedCart {
  if (!requested.length) throw new PricingError("the cart is empty");
  const lookup = (id: string): CatalogPrice | undefined =>
    prices instanceof Map ? prices.get(id) : Object.hasOwn(prices, id) ? (prices as Record<string, CatalogPrice>)[id] : undefined;
  const mode = policy.rounding_mode;
  const staged: { lineNo: number; price: CatalogPrice; qty: number; rate: number; discount: number }[] = [];
  const currencies = new Set<string>();
  requested.forEach((line, index) => {
    const lineNo = index + 1;
    const price = lookup(line.product_id);
    if (price === undefined) throw new PricingError(`line ${lineNo}: product ${line.product_id} is not for sale (unknown or archived)`);
    const rate = Object.hasOwn(policy.tax_rates_bp, price.tax_class) ? policy.tax_rates_bp[price.tax_class] : undefined;
    if (rate === undefined) throw new PricingError(`line ${lineNo}: no tax rate configured for tax class '${price.tax_class}'`);
    if (line.qty <= 0) throw new PricingError(`line ${lineNo}: quantity must be at least 1`);
    checkInt(line.qty, "qty");
    checkInt(price.price_minor, "price_minor");
    currencies.add(price.currency);
    const gross = price.price_minor * line.qty;
    const discount = line.discount ? discountAmount(line.discount, gross, mode) : 0;
    staged.push({ lineNo, price, qty: line.qty, rate, discount });
  });
  if (currencies.size > 1) throw new PricingError(`the cart mixes currencies: ${[...currencies].sort().join(", ")}`);
  const bases = staged.map((s) => s.price.price_minor * s.qty - s.discount);
  const cartAmount = cartDiscount ? discountAmount(cartDiscount, sum(bases), mode) : 0;
  const shares = allocate(cartAmount, bases);
  const lines = staged.map((s, i) => finishLine(s.lineNo, s.price, s.qty, s.rate, s.discount, shares[i], policy.prices_include_tax, mode));
  const total = sum(lines.map((l) => l.total_minor));
  const tax = sum(lines.map((l) => l.tax_minor));
  return {
    currency: [...currencies][0],
    lines,
    cart_discount: cartDiscount,
    prices_include_tax: policy.prices_include_tax,
    total_minor: total,
    tax_minor: tax,
    subtotal_minor: total - tax,
    gross_minor: sum(lines.map((l) => l.gross_minor)),
    discount_minor: sum(lines.map((l) => l.discount_minor)),
    items: sum(lines.map((l) => l.qty)),
  };
}

/** Net and tax per rate, lowest rate first (the receipt's tax bands). */
export function taxBands(cart: PricedCart): TaxBand[] {
  const bands = new Map<number, TaxBand>();
  for (const line of cart.lines) {
    const band = bands.get(line.tax_rate_bp) ?? { rate_bp: line.tax_rate_bp, net_minor: 0, tax_minor: 0 };
    band.net_minor += line.net_minor;
    band.tax_minor += line.tax_minor;
    bands.set(line.tax_rate_bp, band);
  }
  return [...bands.values()].sort((a, b) => a.rate_bp - b.rate_bp);
}

function above(part: number, limitBp: number, base: number): boolean {
  // part * 10000 > limit * base, exactly
  const left = part * 10_000;
  const right = limitBp * base;
  if (left <= SAFE && right <= SAFE) return left > right;
  return BigInt(part) * 10_000n > BigInt(limitBp) * BigInt(base);
}

/** The discounts above the outlet's threshold, described (domain.discounts_needing_approval).
 * Offline there is no manager approval: the till may refuse these or take them as the
 * outlet decides (the server lists them as discount_unapproved). */
export function discountsNeedingApproval(cart: PricedCart, policy: PricingPolicy): string[] {
  const limit = policy.discount_approval_bp;
  const found: string[] = [];
  for (const line of cart.lines) {
    if (line.gross_minor && above(line.line_discount_minor, limit, line.gross_minor)) {
      found.push(`line ${line.line_no} discount ${line.line_discount_minor} of ${line.gross_minor}`);
    }
  }
  const base = cart.gross_minor - sum(cart.lines.map((l) => l.line_discount_minor));
  const cartPart = sum(cart.lines.map((l) => l.cart_discount_minor));
  if (base && above(cartPart, limit, base)) found.push(`cart discount ${cartPart} of ${base}`);
  return found;
}

// --- tenders --------------------------------------------------------------------------

export interface TenderIn {
  kind: string;
  /** for cash: what the customer handed over */
  amount_minor: number;
  card_token?: string | null;
}

export interface AppliedTender {
  kind: string;
  /** what this tender pays of the amount due */
  amount_minor: number;
  /** what was handed over (cash) or charged (card) */
  tendered_minor: number;
  card_token?: string | null;
}

export interface Settlement {
  tenders: AppliedTender[];
  tendered_minor: number;
  change_minor: number;
  /** cash rounding: what the amount due moved by (+ or -) */
  rounding_minor: number;
  /** total + rounding: what the tenders pay */
  due_minor: number;
}

/** Apply tenders to a total (domain.settle). Non-cash tenders pay exactly what they say
 * and may not exceed what is due; cash pays the rest, rounded to the outlet's cash
 * increment, and only cash gives change. */
export function settle(totalMinor: number, tenders: readonly TenderIn[], cashRoundingMinor = 0): Settlement {
  for (const tender of tenders) {
    if (tender.amount_minor <= 0) throw new PricingError(`${tender.kind} tender must be more than zero`);
  }
  if (!tenders.length) {
    if (totalMinor === 0) return { tenders: [], tendered_minor: 0, change_minor: 0, rounding_minor: 0, due_minor: 0 };
    throw new PricingError("no tender given: take cash or card");
  }
  const nonCash = tenders.filter((t) => t.kind !== "cash");
  const cash = tenders.filter((t) => t.kind === "cash");
  const nonCashTotal = sum(nonCash.map((t) => t.amount_minor));
  if (nonCashTotal > totalMinor) throw new PricingError(`card tenders (${nonCashTotal}) exceed the total due (${totalMinor})`);
  let dueInCash = totalMinor - nonCashTotal;
  let rounding = 0;
  if (cash.length) {
    const rounded = roundToIncrement(dueInCash, cashRoundingMinor);
    rounding = rounded - dueInCash;
    dueInCash = rounded;
  }
  const cashGiven = sum(cash.map((t) => t.amount_minor));
  if (cashGiven < dueInCash) throw new PricingError(`tendered ${nonCashTotal + cashGiven} is less than the total due ${nonCashTotal + dueInCash}`);
  if (!cash.length && dueInCash) throw new PricingError(`tenders (${nonCashTotal}) do not cover the total due (${totalMinor})`);
  const applied: AppliedTender[] = nonCash.map((t) => ({ kind: t.kind, amount_minor: t.amount_minor, tendered_minor: t.amount_minor, card_token: t.card_token ?? null }));
  if (cash.length) applied.push({ kind: "cash", amount_minor: dueInCash, tendered_minor: cashGiven, card_token: null });
  return {
    tenders: applied,
    tendered_minor: nonCashTotal + cashGiven,
    change_minor: cashGiven - dueInCash,
    rounding_minor: rounding,
    due_minor: totalMinor + rounding,
  };
}
