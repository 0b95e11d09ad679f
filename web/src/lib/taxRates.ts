// The outlet's tax rates per tax class with the date each starts (sales:
// GET/POST /api/sales/outlets/{id}/tax-rates, DELETE .../{class}/{date}; ADR 0066).

import type { components } from "./api-types/sales";

export type TaxRates = components["schemas"]["TaxRatesOut"];
export type TaxClassRate = components["schemas"]["TaxClassOut"];
export type ScheduledTaxRate = components["schemas"]["ScheduledRateOut"];

export interface ScheduleForm {
  taxClass: string;
  rate: string;
  effectiveFrom: string;
}

export type ScheduleErrors = Partial<Record<keyof ScheduleForm, string>>;

/** The same rules as the server (routes_tax.rate_bp_of), said before sending. */
export function rateProblem(rate: string): string {
  const text = rate.trim().replace(",", ".");
  if (!text) return "Enter the rate in percent, like 21 or 5.5.";
  if (!/^-?\d+(\.\d+)?$/.test(text)) return `${rate} is not a number: enter the rate in percent, like 21 or 5.5.`;
  if (text.startsWith("-")) return "A tax rate cannot be negative.";
  const [whole, fraction = ""] = text.split(".");
  if (fraction.replace(/0+$/, "").length > 2) return "At most two decimals (0.01 %).";
  if (Number(whole) > 100 || (Number(whole) === 100 && /[1-9]/.test(fraction))) return "A tax rate cannot be over 100 %.";
  return "";
}

/** The form's problems (empty: send it). `today` is the outlet's date (YYYY-MM-DD). */
export function validateSchedule(form: ScheduleForm, classes: readonly string[], today: string): ScheduleErrors {
  const errors: ScheduleErrors = {};
  if (!classes.includes(form.taxClass)) errors.taxClass = "Choose a tax class.";
  const problem = rateProblem(form.rate);
  if (problem) errors.rate = problem;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(form.effectiveFrom)) errors.effectiveFrom = "Choose the first day of the rate.";
  else if (form.effectiveFrom < today) errors.effectiveFrom = `The date is in the past at the outlet (today there is ${today}): choose today or later.`;
  return errors;
}

/** The body the server takes: the rate as a decimal string (never a number). */
export function scheduleBody(form: ScheduleForm): { tax_class: string; rate: string; effective_from: string } {
  return { tax_class: form.taxClass, rate: form.rate.trim().replace(",", "."), effective_from: form.effectiveFrom };
}

/** "21.00" -> "21 %", "5.50" -> "5.5 %". */
export function percent(rate: string): string {
  const trimmed = rate.includes(".") ? rate.replace(/0+$/, "").replace(/\.$/, "") : rate;
  return `${trimmed} %`;
}

/** A date (YYYY-MM-DD) as people read it, e.g. "1 Jan 2027". */
export function longDate(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

/** "21" -> 2100, "5.5" -> 550, "8.25" -> 825 basis points: string arithmetic, no float.
 * Only for a rate `rateProblem` found nothing wrong with. */
export function percentToBp(rate: string): number {
  const [whole, fraction = ""] = rate.trim().replace(",", ".").split(".");
  return Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
}

/** A new tax class's name: what the server takes (1-32 characters, at most 50 classes),
 * not one the outlet has, and in the form products name it (lower case, digits, - and _). */
export function taxClassProblem(name: string, existing: readonly string[]): string {
  const text = name.trim();
  if (!text) return "Enter the tax class's name, like reduced or food.";
  if (text.length > 32) return "At most 32 characters.";
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(text)) return "Lower-case letters, digits, - and _ only, as products name their tax class (e.g. food-reduced).";
  if (existing.includes(text)) return `The outlet already has ${text}: set its rate above.`;
  if (existing.length >= 50) return "An outlet has at most 50 tax classes.";
  return "";
}

export interface TaxAddressForm {
  country: string;
  region: string;
  city: string;
  postal_code: string;
  line1: string;
}

/** What the external tax API needs (the server's TaxAddress): a two-letter country. */
export function taxAddressProblem(address: TaxAddressForm): string {
  const country = address.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) return "Enter the country as its two-letter code (ISO 3166-1), like DE or US: the tax service taxes by place.";
  return "";
}

/** The address as the server takes it: country in capitals, the rest trimmed. */
export function taxAddressBody(address: TaxAddressForm): TaxAddressForm {
  return {
    country: address.country.trim().toUpperCase(),
    region: address.region.trim().toUpperCase(),
    city: address.city.trim(),
    postal_code: address.postal_code.trim(),
    line1: address.line1.trim(),
  };
}
