// The low-stock list with a reorder suggestion: inventory says what is at or below its
// reorder point (and the reorder quantity); the reports service, when it has sales to
// measure, says how many days the stock lasts and what would cover the target days.
import type { components as Reports } from "./api-types/reports";
import type { components } from "./api-types/inventory";

export type LowStockLine = components["schemas"]["LowStockLine"];

/** What the low-stock list uses of a row of GET /api/reports/stock/cover. */
export type CoverRow = Pick<
  Reports["schemas"]["StockRow"],
  "outlet_id" | "product_id" | "sold" | "daily_velocity" | "days_of_cover" | "suggested_order_qty"
>;

export interface LowStockView extends LowStockLine {
  days_of_cover: number | null; // null: no sales measured
  daily_velocity: number | null;
  cover_order_qty: number | null; // to last target_days at the current pace
  order_qty: number; // what the screen suggests: the larger of the two
}

/** Join the low-stock lines with the cover rows of the same outlet and product. */
export function withCover(lines: readonly LowStockLine[], cover: readonly CoverRow[] | null): LowStockView[] {
  const byKey = new Map((cover ?? []).map((r) => [`${r.outlet_id}/${r.product_id}`, r]));
  return lines.map((line) => {
    const row = byKey.get(`${line.outlet_id}/${line.product_id}`);
    const coverQty = row ? Math.max(0, Math.trunc(row.suggested_order_qty)) : null;
    return {
      ...line,
      days_of_cover: row ? row.days_of_cover : null,
      daily_velocity: row ? row.daily_velocity : null,
      cover_order_qty: coverQty,
      order_qty: Math.max(line.suggested_order_qty, coverQty ?? 0),
    };
  });
}

/** "3.5 days", "less than a day", "no recent sales". */
export function coverText(days: number | null): string {
  if (days === null) return "no recent sales";
  if (days < 1) return "less than a day";
  return `${days.toFixed(days < 10 && days % 1 ? 1 : 0)} days`;
}
