// Numbers behind the dashboard's hand-drawn SVG charts.

import { addDays } from "./format";

/** A round upper bound for an axis and its tick values: 0..max in `count` steps. */
export function niceScale(max: number, count = 4): { max: number; ticks: number[] } {
  if (!(max > 0)) return { max: 1, ticks: [0, 1] };
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return { max: top, ticks };
}

/** One value per day from `from` to `to` (both included), 0 for days without rows. */
export function fillDays<T extends { day: string }>(
  from: string,
  to: string,
  rows: readonly T[],
  value: (row: T) => number,
): { day: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(row.day, (sums.get(row.day) ?? 0) + value(row));
  const out: { day: string; value: number }[] = [];
  for (let day = from; day <= to && out.length < 400; day = addDays(day, 1)) out.push({ day, value: sums.get(day) ?? 0 });
  return out;
}

/** Sum values by a key, largest first. */
export function groupSum<T>(rows: readonly T[], key: (row: T) => string, value: (row: T) => number): { key: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(key(row), (sums.get(key(row)) ?? 0) + value(row));
  return [...sums].map(([k, v]) => ({ key: k, value: v })).sort((a, b) => b.value - a.value || a.key.localeCompare(b.key));
}
