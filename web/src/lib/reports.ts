// Dashboard figures from report rows. Money of different currencies is never added up:
// the dashboard shows one currency (the outlet's), and says when others exist.

export interface Figures {
  sales_count: number;
  items_sold: number;
  gross_minor: number;
  tax_minor: number;
  average_minor: number;
}

interface MoneyRow {
  currency?: string;
}

/** Rows in `currency`; rows without a currency (older report service) count as it. */
export function inCurrency<T extends MoneyRow>(rows: readonly T[], currency: string): T[] {
  return rows.filter((r) => !r.currency || r.currency === currency);
}

/** Currencies present in the rows, `preferred` first when present. */
export function currenciesOf(rows: readonly MoneyRow[], preferred: string): string[] {
  const found = [...new Set(rows.map((r) => r.currency).filter((c): c is string => !!c))].sort();
  return found.includes(preferred) ? [preferred, ...found.filter((c) => c !== preferred)] : found;
}

export function figures(
  rows: readonly { sales_count: number; items_sold: number; gross_minor: number; tax_minor: number }[],
): Figures {
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + f(r), 0);
  const sales = sum((r) => r.sales_count);
  const gross = sum((r) => r.gross_minor);
  return {
    sales_count: sales,
    items_sold: sum((r) => r.items_sold),
    gross_minor: gross,
    tax_minor: sum((r) => r.tax_minor),
    // half-up on integers, like the server
    average_minor: sales ? Math.floor((2 * gross + sales) / (2 * sales)) : 0,
  };
}
