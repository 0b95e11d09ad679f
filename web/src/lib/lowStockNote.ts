// The till's note after a sale that took products to or under their reorder point
// (issue 17): "Running low: Espresso beans — 3 left (reorder at 5)". Inventory counts
// what is left after the sale (docs/catalog-inventory.md, "Running low at the till").
import { api } from "./api";
import type { components } from "./api-types/inventory";

export type SaleLowStock = components["schemas"]["SaleLowStock"];
export type SaleLowStockLine = components["schemas"]["SaleLowStockLine"];

/** One line of the note, or the whole note for the lines (null: nothing is low). */
export function lowStockText(line: SaleLowStockLine): string {
  return `${line.name ?? line.sku ?? line.product_id} — ${line.left} left (reorder at ${line.reorder_point})`;
}

export function lowStockNote(lines: readonly SaleLowStockLine[]): string | null {
  if (lines.length === 0) return null;
  return `Running low: ${lines.map(lowStockText).join("; ")}`;
}

/** The note for a sale just completed online; null when nothing is low or inventory
 * did not answer (a note is not worth an error at the till). */
export async function fetchLowStockNote(outletId: string, saleId: string): Promise<string | null> {
  try {
    const found = await api<SaleLowStock>(`/api/inventory/outlets/${encodeURIComponent(outletId)}/sales/${encodeURIComponent(saleId)}/low-stock`);
    return lowStockNote(found.lines);
  } catch {
    return null;
  }
}
