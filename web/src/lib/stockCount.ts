// Stock counts: a count is opened for an outlet, lines are counted (expected = on hand
// at that moment), then posted (each non-zero difference becomes a ledger row) or cancelled.
import type { components } from "./api-types/inventory";

export type CountLine = components["schemas"]["CountLineOut"];

export type StockCount = components["schemas"]["CountOut"];

/** What posting the count will do: units up, units down, lines that change. */
export function countEffect(lines: readonly CountLine[]): { up: number; down: number; changed: number } {
  let up = 0;
  let down = 0;
  let changed = 0;
  for (const l of lines) {
    if (l.difference > 0) up += l.difference;
    if (l.difference < 0) down -= l.difference;
    if (l.difference !== 0) changed += 1;
  }
  return { up, down, changed };
}

/** A counted quantity as typed: a whole number 0..10,000,000, or null. */
export function parseCounted(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n <= 10_000_000 ? n : null;
}

/** "+3", "-2", "0". */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}
