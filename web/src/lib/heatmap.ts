// "When are we busy": the reports' day x hour rows (`/sales/hourly?by=day_hour`) as a
// weekday x hour grid of averages, for staffing. Each cell is averaged over every such
// weekday in the range, not only the days that sold: a quiet Monday counts as 0.
// Days and hours are the outlet's own (local calendar), as the reports service keeps them.
import type { components as Reports } from "./api-types/reports";

import { inCurrency } from "./reports";

/** One row of `/sales/hourly?by=day_hour`: what the heat map uses of it. */
export type HeatRow = Pick<Reports["schemas"]["HeatRow"], "day" | "hour" | "sales_count" | "gross_minor" | "currency">;

export type HeatReport = Pick<Reports["schemas"]["HourlyReport"], "date_from" | "date_to"> & { rows: HeatRow[] };

/** Monday first (ISO), as staff rotas are. */
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;

export type HeatMetric = "sales" | "gross";

/** A weekday (0 = Monday) at an hour: average sales and gross per such weekday. */
export interface HeatCell {
  weekday: number;
  hour: number;
  sales: number;
  gross_minor: number; // an average: not a whole number of minor units
}

export interface HeatGrid {
  /** How many of each weekday (Monday first) the range holds: the divisors. */
  days: number[];
  /** The hours shown: those from the first to the last that ever sold; none without sales. */
  hours: number[];
  /** 7 rows (Monday first), each a cell per hour shown. */
  rows: HeatCell[][];
  max: { sales: number; gross_minor: number };
  /** The most sales on average (ties: more gross, then the earlier slot); null without sales. */
  busiest: HeatCell | null;
}

const DAY_MS = 86_400_000;

function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

/** The weekday of a calendar day, 0 = Monday .. 6 = Sunday (no timezone involved). */
export function weekdayOf(day: string): number {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
}

/** How many Mondays .. Sundays the days `from` to `to` (both included) hold. */
export function weekdayCounts(from: string, to: string): number[] {
  const length = dayNumber(to) - dayNumber(from) + 1;
  if (!(length > 0)) return [0, 0, 0, 0, 0, 0, 0];
  const weeks = Math.floor(length / 7);
  const counts = Array.from({ length: 7 }, () => weeks);
  const first = weekdayOf(from);
  for (let i = 0; i < length % 7; i++) counts[(first + i) % 7] += 1;
  return counts;
}

/** The grid of averages over `from`..`to` of the rows in `currency` (rows without a
 * currency, from an older service, count as it; rows outside the range are ignored). */
export function heatGrid(rows: readonly HeatRow[], currency: string, from: string, to: string): HeatGrid {
  const days = weekdayCounts(from, to);
  const sums = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => ({ sales: 0, gross: 0 })));
  for (const r of inCurrency(rows, currency)) {
    if (typeof r.day !== "string" || r.day < from || r.day > to || !Number.isInteger(r.hour) || r.hour < 0 || r.hour > 23) continue;
    const weekday = weekdayOf(r.day);
    if (!(weekday >= 0)) continue; // not a day (per-hour rows have none)
    const cell = sums[weekday][r.hour];
    cell.sales += r.sales_count;
    cell.gross += r.gross_minor;
  }
  const sold = (hour: number) => sums.some((day) => day[hour].sales !== 0 || day[hour].gross !== 0);
  const all = Array.from({ length: 24 }, (_, h) => h);
  const active = all.filter(sold);
  const hours = active.length ? all.slice(active[0], active[active.length - 1] + 1) : [];
  const grid = sums.map((day, weekday) =>
    hours.map((hour) => ({
      weekday,
      hour,
      sales: days[weekday] ? day[hour].sales / days[weekday] : 0,
      gross_minor: days[weekday] ? day[hour].gross / days[weekday] : 0,
    })),
  );
  const cells = grid.flat();
  let busiest: HeatCell | null = null;
  for (const cell of cells) {
    const more = !busiest || cell.sales > busiest.sales || (cell.sales === busiest.sales && cell.gross_minor > busiest.gross_minor);
    if (cell.sales > 0 && more) busiest = cell;
  }
  return {
    days,
    hours,
    rows: grid,
    max: { sales: Math.max(0, ...cells.map((c) => c.sales)), gross_minor: Math.max(0, ...cells.map((c) => c.gross_minor)) },
    busiest,
  };
}

/** 12 -> "12:00–13:00". */
export function slotName(hour: number): string {
  const pad = (h: number) => `${String(h % 24).padStart(2, "0")}:00`;
  return `${pad(hour)}–${pad(hour + 1)}`;
}

/** An average count to one decimal at most: 14.5, 23, 0.4. */
export function formatAverage(value: number, locale?: string): string {
  return value.toLocaleString(locale, { maximumFractionDigits: 1 });
}

function sales(value: number, locale?: string): string {
  const text = formatAverage(value, locale);
  return `${text} ${text === "1" ? "sale" : "sales"}`;
}

/** "Friday 12:00–13:00: 14.5 sales, €310.20 on average". */
export function describeCell(cell: HeatCell, money: (minor: number) => string, locale?: string): string {
  return `${WEEKDAYS[cell.weekday]} ${slotName(cell.hour)}: ${sales(cell.sales, locale)}, ${money(Math.round(cell.gross_minor))} on average`;
}

/** "Busiest: Saturday 12:00–13:00, 23 sales on average", or that nothing sold. */
export function busiestText(cell: HeatCell | null, locale?: string): string {
  if (!cell) return "No sales in this period.";
  return `Busiest: ${WEEKDAYS[cell.weekday]} ${slotName(cell.hour)}, ${sales(cell.sales, locale)} on average`;
}

/** The figure a cell is shaded by. */
export function heatValue(cell: HeatCell, metric: HeatMetric): number {
  return metric === "sales" ? cell.sales : cell.gross_minor;
}

/** 0..1: how dark a cell is, against the grid's largest value. */
export function shade(value: number, max: number): number {
  return max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
}
