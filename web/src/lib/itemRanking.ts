// The dashboard's product ranking: which figure the products are ranked by (the reports
// service's `sort`), top or bottom sellers (`order`), and the figure each bar shows.

import { formatRate } from "./format";
import type { ItemRow } from "./types";

export type RankSort = "gross" | "qty" | "margin";
export type RankOrder = "desc" | "asc";

export const RANK_SORTS: readonly { value: RankSort; label: string }[] = [
  { value: "gross", label: "Gross sales" },
  { value: "qty", label: "Quantity" },
  { value: "margin", label: "Margin" },
];

export const RANK_ORDERS: readonly { value: RankOrder; label: string }[] = [
  { value: "desc", label: "Top sellers" },
  { value: "asc", label: "Bottom sellers" },
];

/** The figure a product is ranked by: gross or margin in minor units, or units sold. */
export function rankedFigure(row: ItemRow, sort: RankSort): number {
  if (sort === "qty") return row.qty;
  if (sort === "margin") return row.margin_minor ?? 0;
  return row.gross_minor;
}

/** Money or a count: a quantity is never shown as an amount. */
export function isMoney(sort: RankSort): boolean {
  return sort !== "qty";
}

/** "Top items by gross sales", "Bottom items by quantity": the list's accessible name. */
export function rankingTitle(sort: RankSort, order: RankOrder): string {
  const by = (RANK_SORTS.find((option) => option.value === sort)?.label ?? sort).toLowerCase();
  return `${order === "asc" ? "Bottom" : "Top"} items by ${by}`;
}

/** What a bar adds after its figure: units sold for money, the gross for a quantity,
 * and the margin's share of net. */
export function rankNote(row: ItemRow, sort: RankSort, money: (minor: number) => string): string {
  if (sort === "qty") return money(row.gross_minor);
  if (sort === "margin" && row.margin_bp !== null && row.margin_bp !== undefined) return `${row.qty} sold, ${formatRate(row.margin_bp)} of net`;
  return `${row.qty} sold`;
}
