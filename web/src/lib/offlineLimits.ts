// An outlet's limits for selling offline (docs/offline.md, ADR 0073): part of the outlet's
// settings in sales (GET/PUT /api/sales/outlets/{id}/settings, integer minor units),
// edited in the back office (Receipts page, "Selling offline") as decimal amounts in the
// outlet's currency.
import { parseMoney, toDecimalString } from "./money";

/** The offline part of the outlet's settings, as sales keeps it. */
export interface OfflineLimitSettings {
  offline_max_hours: number;
  offline_max_sale_minor: number;
  offline_card_allowed: boolean;
  offline_card_max_sale_minor: number;
  offline_card_max_device_minor: number;
  card_reader_url: string;
}

/** The form: the amounts as the manager types them ("500.00"), the hours as text. */
export interface OfflineLimitsForm {
  maxHours: string;
  maxSale: string;
  cardAllowed: boolean;
  readerUrl: string;
  cardMaxSale: string;
  cardMaxDevice: string;
}

export type OfflineLimitsErrors = Partial<Record<keyof OfflineLimitsForm, string>>;

// What sales enforces (pos_sales/outlet_policy.py), checked here first so every problem
// shows next to its field.
export const OFFLINE_LIMITS = {
  maxHours: 720,
  maxMinor: 10 ** 12,
  readerUrlLength: 200,
} as const;

const READER_URL = /^https?:\/\/[A-Za-z0-9.\-[\]:]+(\/[A-Za-z0-9._~/-]*)?$/;

// The server's defaults, for an outlet whose settings predate these fields.
const DEFAULTS: OfflineLimitSettings = {
  offline_max_hours: 24,
  offline_max_sale_minor: 50_000,
  offline_card_allowed: false,
  offline_card_max_sale_minor: 0,
  offline_card_max_device_minor: 0,
  card_reader_url: "",
};

/** An amount for the form: "" for 0 where 0 means "not set" (the card limits). */
function amountText(minor: number, currency: string, blankZero: boolean): string {
  return blankZero && minor === 0 ? "" : toDecimalString(minor, currency);
}

/** The form for the outlet's settings as read (fields missing: the server's defaults). */
export function offlineFormFrom(settings: Partial<OfflineLimitSettings> | Record<string, unknown>, currency: string): OfflineLimitsForm {
  const s = { ...DEFAULTS, ...(settings as Partial<OfflineLimitSettings>) };
  return {
    maxHours: String(s.offline_max_hours),
    maxSale: amountText(s.offline_max_sale_minor, currency, false),
    cardAllowed: s.offline_card_allowed,
    readerUrl: s.card_reader_url,
    cardMaxSale: amountText(s.offline_card_max_sale_minor, currency, true),
    cardMaxDevice: amountText(s.offline_card_max_device_minor, currency, true),
  };
}

/** Minor units of an amount field ("" is 0), or a sentence saying what is wrong. */
function amount(text: string, currency: string, what: string): number | string {
  if (!text.trim()) return 0;
  const minor = parseMoney(text, currency);
  if (minor === null) return `${what}: type an amount in ${currency}, like ${toDecimalString(50_000, currency)}.`;
  if (minor > OFFLINE_LIMITS.maxMinor) return `${what}: at most ${toDecimalString(OFFLINE_LIMITS.maxMinor, currency)} ${currency}.`;
  return minor;
}

interface Parsed {
  hours: number;
  maxSale: number;
  cardMaxSale: number;
  cardMaxDevice: number;
  readerUrl: string;
}

function parse(form: OfflineLimitsForm, currency: string): { errors: OfflineLimitsErrors; values: Parsed } {
  const errors: OfflineLimitsErrors = {};
  const hoursText = form.maxHours.trim();
  const hours = /^\d+$/.test(hoursText) ? Number(hoursText) : NaN;
  if (!Number.isSafeInteger(hours) || hours > OFFLINE_LIMITS.maxHours) {
    errors.maxHours = `Longest time offline: whole hours from 0 to ${OFFLINE_LIMITS.maxHours} (0: the till never sells offline).`;
  }
  const values: Parsed = { hours, maxSale: 0, cardMaxSale: 0, cardMaxDevice: 0, readerUrl: form.readerUrl.trim() };
  const fields = [
    ["maxSale", "Largest offline sale"],
    ["cardMaxSale", "Largest card payment offline"],
    ["cardMaxDevice", "Card payments one till may hold"],
  ] as const;
  for (const [field, what] of fields) {
    const found = amount(form[field], currency, what);
    if (typeof found === "string") errors[field] = found;
    else values[field] = found;
  }
  const url = values.readerUrl;
  if (url.length > OFFLINE_LIMITS.readerUrlLength) {
    errors.readerUrl = `Card reader address: at most ${OFFLINE_LIMITS.readerUrlLength} characters.`;
  } else if (url && !READER_URL.test(url)) {
    errors.readerUrl = "Card reader address: its web address on the shop's network, like https://192.168.1.50:8443/nexo.";
  }
  if (form.cardAllowed) {
    if (!url && !errors.readerUrl) errors.readerUrl = "Card reader address: cards are taken offline on the shop's card reader; type its address.";
    if (!errors.cardMaxSale && values.cardMaxSale <= 0) {
      errors.cardMaxSale = "Largest card payment offline: above 0 to take cards offline (a card declined later is the shop's loss).";
    }
    if (!errors.cardMaxDevice && values.cardMaxDevice <= 0) {
      errors.cardMaxDevice = "Card payments one till may hold: above 0 to take cards offline.";
    } else if (!errors.cardMaxSale && !errors.cardMaxDevice && values.cardMaxSale > values.cardMaxDevice) {
      errors.cardMaxDevice = "Card payments one till may hold: at least the largest card payment offline.";
    }
  }
  return { errors, values };
}

/** What is wrong with the form, by field (empty when it can be saved). */
export function validateOfflineForm(form: OfflineLimitsForm, currency: string): OfflineLimitsErrors {
  return parse(form, currency).errors;
}

/** The outlet's whole settings document with the form's offline limits in it, in minor
 * units (sales replaces the document on PUT: the other fields go back as they came).
 * Call it on a form `validateOfflineForm` found no problem in. */
export function offlineSettingsWith<T extends object>(current: T, form: OfflineLimitsForm, currency: string): T & OfflineLimitSettings {
  const { errors, values } = parse(form, currency);
  const first = Object.values(errors)[0];
  if (first) throw new RangeError(first);
  return {
    ...current,
    offline_max_hours: values.hours,
    offline_max_sale_minor: values.maxSale,
    offline_card_allowed: form.cardAllowed,
    offline_card_max_sale_minor: values.cardMaxSale,
    offline_card_max_device_minor: values.cardMaxDevice,
    card_reader_url: values.readerUrl,
  };
}
