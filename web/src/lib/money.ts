// Money is integer minor units (cents) everywhere, as in the API. Floats only appear at
// the very last step, inside Intl formatting, where they cannot accumulate errors.

const digitsCache = new Map<string, number>();

/** Minor-unit digits of a currency: EUR 2, JPY 0, KWD 3. */
export function fractionDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2; // unknown code: behave like most currencies
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

function checkMinor(minor: number): void {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`money must be an integer number of minor units, got ${minor}`);
}

/** Decimal text of an amount without currency sign or grouping: 1234 EUR -> "12.34". */
export function toDecimalString(minor: number, currency: string): string {
  checkMinor(minor);
  const digits = fractionDigits(currency);
  const sign = minor < 0 ? "-" : "";
  const abs = String(Math.abs(minor)).padStart(digits + 1, "0");
  if (digits === 0) return sign + abs;
  return `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/** 1234, "EUR" -> "€12.34" (in the browser's locale unless one is given). */
export function formatMoney(minor: number, currency: string, locale?: string): string {
  checkMinor(minor);
  const digits = fractionDigits(currency);
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(Number(toDecimalString(minor, currency)));
  } catch {
    return `${toDecimalString(minor, currency)} ${currency}`;
  }
}

/**
 * What a person typed into a money field -> minor units, or null if it is not an amount.
 * Accepts "12", "12.5", "12,50", "€ 1,234.56", "1.234,56". A lone separator followed by
 * exactly three digits ("1,000") is read as grouping, otherwise as the decimal mark.
 */
export function parseMoney(text: string, currency: string): number | null {
  const digits = fractionDigits(currency);
  let s = text.trim().replace(/[\s\u00a0\u202f']/g, "").replace(/^[^\d.,-]+|[^\d.,]+$/g, "");
  if (s === "" || s.startsWith("-")) return null;
  const lastDot = s.lastIndexOf(".");
  const lastComma = s.lastIndexOf(",");
  let intPart = s;
  let fracPart = "";
  if (lastDot >= 0 && lastComma >= 0) {
    const decimalAt = Math.max(lastDot, lastComma);
    const groupChar = decimalAt === lastDot ? "," : ".";
    intPart = s.slice(0, decimalAt).split(groupChar).join("");
    fracPart = s.slice(decimalAt + 1);
  } else if (lastDot >= 0 || lastComma >= 0) {
    const sep = lastDot >= 0 ? "." : ",";
    const parts = s.split(sep);
    const tail = parts[parts.length - 1];
    if (parts.length > 2 || (tail.length === 3 && digits !== 3 && parts[0].length > 0)) {
      // grouping only: "1,000" or "1.000.000"
      if (parts.slice(1).some((p) => p.length !== 3)) return null;
      intPart = parts.join("");
    } else {
      intPart = parts[0];
      fracPart = tail;
    }
  }
  if (intPart === "") intPart = "0";
  if (!/^\d+$/.test(intPart) || (fracPart !== "" && !/^\d+$/.test(fracPart))) return null;
  if (fracPart.length > digits) return null;
  s = intPart + fracPart.padEnd(digits, "0");
  const value = Number(s);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Amounts a customer is likely to hand over for `totalMinor`: the exact total first, then
 * the next round sums (next whole unit, 5, 10, 20, 50, 100) above it. At most `count`.
 */
export function quickCashAmounts(totalMinor: number, currency: string, count = 5): number[] {
  checkMinor(totalMinor);
  if (totalMinor <= 0) return [];
  const unit = 10 ** fractionDigits(currency);
  const steps = unit === 1 ? [100, 500, 1000, 5000, 10000] : [1, 5, 10, 20, 50, 100].map((s) => s * unit);
  const amounts = [totalMinor];
  for (const step of steps) {
    const rounded = Math.ceil(totalMinor / step) * step;
    if (rounded > totalMinor && !amounts.includes(rounded)) amounts.push(rounded);
  }
  return amounts.slice(0, count);
}
