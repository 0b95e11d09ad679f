// Dashboard figures the newer reports service adds: discounts and refunds per day, and
// sales by hour of the day. Rows of other currencies are left out by the caller.
import type { components as Reports } from "./api-types/reports";

export interface DiscountRefundRow {
  discount_minor?: number;
  refund_count?: number;
  refund_minor?: number;
  net_after_refunds_minor?: number;
}

export interface DiscountRefundFigures {
  discount_minor: number;
  refund_count: number;
  refund_minor: number;
  net_after_refunds_minor: number;
}

/** Discounts and refunds over the rows, or null when the service does not report them. */
export function discountsAndRefunds(rows: readonly DiscountRefundRow[]): DiscountRefundFigures | null {
  if (!rows.some((r) => r.discount_minor !== undefined || r.refund_minor !== undefined)) return null;
  const sum = (f: (r: DiscountRefundRow) => number | undefined) => rows.reduce((n, r) => n + (f(r) ?? 0), 0);
  return {
    discount_minor: sum((r) => r.discount_minor),
    refund_count: sum((r) => r.refund_count),
    refund_minor: sum((r) => r.refund_minor),
    net_after_refunds_minor: sum((r) => r.net_after_refunds_minor),
  };
}

/** What the dashboard uses of a row of `/sales/hourly?by=hour`. */
export type HourRow = Pick<Reports["schemas"]["HourRow"], "hour" | "gross_minor" | "sales_count" | "currency">;

/** 24 slots (hour 0..23) of gross sales; hours without sales are 0. */
export function hourSeries(rows: readonly HourRow[]): { hour: number; value: number; count: number }[] {
  const slots = Array.from({ length: 24 }, (_, hour) => ({ hour, value: 0, count: 0 }));
  for (const r of rows) {
    if (Number.isInteger(r.hour) && r.hour >= 0 && r.hour < 24) {
      slots[r.hour].value += r.gross_minor;
      slots[r.hour].count += r.sales_count;
    }
  }
  return slots;
}

/** The busiest hour as "14:00–15:00", or "" with no sales. */
export function busiestHour(series: readonly { hour: number; value: number }[]): string {
  const best = series.reduce((b, s) => (s.value > b.value ? s : b), { hour: -1, value: 0 });
  if (best.hour < 0) return "";
  const pad = (h: number) => `${String(h % 24).padStart(2, "0")}:00`;
  return `${pad(best.hour)}–${pad(best.hour + 1)}`;
}
