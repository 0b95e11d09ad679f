// The till's exchange-rate cache for foreign cash offline (issue 16, ADR 0061,
// docs/offline.md): whenever the till is online and reads the rates of the outlet's
// accepted currencies, it keeps the last usable rate of each (value, source, reference
// date) and the currencies' cash units in IndexedDB (the offline store's `meta`), so a
// reload while offline still has them. Offline, the pay dialog takes foreign cash at the
// kept rate, showing its source and age; a rate older than the limit the sync uses
// (the outlet settings' `rates_stale_after_days`, POS_RATES_STALE_AFTER_DAYS) or no
// rate at all is refused, saying why. The arithmetic is foreignCash.ts, as online.

import type { components as Payments } from "./api-types/payments";
import type { CurrencyInfo } from "./foreignCash";
import { openOfflineDb, readMeta, writeMeta, type OfflineDb } from "./offlineDb";

/** A rate as payments answers it (GET /api/payments/rates, .../rates/{base}/{quote}). */
export type RateView = Pick<Payments["schemas"]["RateOut"], "currency" | "rate" | "source" | "reference_date" | "age_days" | "stale" | "usable" | "detail">;

/** The last usable rate the till saw for one currency. */
export interface CachedRate {
  currency: string;
  /** units of `currency` per unit of the base (a decimal string, as the server stamps it) */
  rate: string;
  /** ecb | sandbox | manual */
  source: string;
  /** the rate's reference date (YYYY-MM-DD; for a manual rate the day it was set) */
  reference_date: string;
  /** when the till read it (epoch ms) */
  seen_at: number;
}

/** What the till keeps per base currency (the outlet's). */
export interface RateCache {
  base: string;
  rates: Record<string, CachedRate>;
  /** ISO 4217 exponents and cash units of the base and the accepted currencies */
  currencies: Record<string, CurrencyInfo>;
}

/** The server's default limit (POS_RATES_STALE_AFTER_DAYS) for settings kept before the field existed. */
export const DEFAULT_STALE_AFTER_DAYS = 3;

const key = (base: string) => `fxRates.${base}`;
const DAY = 86_400_000;

/** The rates and currencies kept for `base` (empty when none). */
export async function cachedRates(base: string, db?: OfflineDb): Promise<RateCache> {
  const database = db ?? (await openOfflineDb());
  const kept = await readMeta<RateCache>(database, key(base));
  return kept && kept.base === base ? kept : { base, rates: {}, currencies: {} };
}

/** Keep the usable rates of `seen` (an unusable or missing one leaves the last good one)
 * and the currencies given; returns the cache as stored. */
export async function rememberRates(
  base: string,
  seen: readonly RateView[],
  currencies: readonly CurrencyInfo[] = [],
  nowMs = Date.now(),
  db?: OfflineDb,
): Promise<RateCache> {
  const database = db ?? (await openOfflineDb());
  const cache = await cachedRates(base, database);
  let changed = false;
  for (const r of seen) {
    if (!r.usable || !r.rate || !r.source || !r.reference_date || r.currency === base) continue;
    const before = cache.rates[r.currency];
    // A newer reading of the same rate keeps the same figures; an older date never replaces a newer one.
    if (before && before.reference_date > r.reference_date.slice(0, 10)) continue;
    cache.rates[r.currency] = { currency: r.currency, rate: r.rate, source: r.source, reference_date: r.reference_date.slice(0, 10), seen_at: nowMs };
    changed = true;
  }
  for (const c of currencies) {
    const { code, name, minor_units, cash_unit_minor } = c;
    cache.currencies[code] = { code, name, minor_units, cash_unit_minor };
    changed = true;
  }
  if (changed) await writeMeta(database, key(base), cache);
  return cache;
}

/** Whole days from the rate's reference date to the UTC day of `nowMs` (as the server counts a rate's age). */
export function rateAgeDays(referenceDate: string, nowMs: number): number {
  const day = Date.parse(`${referenceDate.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(day)) return Number.POSITIVE_INFINITY;
  const today = Math.floor(nowMs / DAY) * DAY;
  return Math.max(0, Math.round((today - day) / DAY));
}

/** Why foreign cash in `code` cannot be taken offline, or null when the kept rate may be used. */
export function offlineRateProblem(args: {
  code: string;
  accepted: readonly string[];
  cached: CachedRate | undefined;
  staleAfterDays: number;
  nowMs: number;
}): { code: "foreign_not_accepted" | "foreign_no_rate" | "foreign_stale_rate"; message: string } | null {
  const { code, cached, staleAfterDays } = args;
  if (!args.accepted.includes(code)) {
    return { code: "foreign_not_accepted", message: `this outlet does not take ${code} cash. Take the shop's currency.` };
  }
  if (!cached) {
    return {
      code: "foreign_no_rate",
      message: `this till has no ${code} rate kept from when it was online, so it cannot convert offline. Take the shop's currency, or wait until the till is back online.`,
    };
  }
  const age = rateAgeDays(cached.reference_date, args.nowMs);
  if (age > staleAfterDays) {
    return {
      code: "foreign_stale_rate",
      message: `the ${code} rate kept on this till (${rateSource(cached.source, cached.reference_date)}) is ${age} days old; this shop takes foreign cash at a rate up to ${staleAfterDays} days old. Take the shop's currency, or wait until the till is back online.`,
    };
  }
  return null;
}

/** "ECB rate of 2026-12-04", "manual rate of 2026-12-04". */
export function rateSource(source: string, referenceDate: string): string {
  const who = source === "ecb" ? "ECB" : source;
  return `${who} rate of ${referenceDate.slice(0, 10)}`;
}

/** The kept rate in the shape payments answers (what the pay dialog shows), with its age now
 * and, when it may not be used offline, why. */
export function offlineRateView(args: Parameters<typeof offlineRateProblem>[0]): RateView {
  const problem = offlineRateProblem(args);
  const cached = args.cached;
  const age = cached ? rateAgeDays(cached.reference_date, args.nowMs) : null;
  return {
    currency: args.code,
    rate: cached?.rate ?? null,
    source: cached?.source ?? null,
    reference_date: cached?.reference_date ?? null,
    age_days: age === null || !Number.isFinite(age) ? null : age,
    stale: problem?.code === "foreign_stale_rate",
    usable: problem === null,
    detail: problem?.message ?? null,
  };
}
