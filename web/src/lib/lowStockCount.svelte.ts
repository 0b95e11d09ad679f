// What to reorder across the user's outlets, for the back office menu's badge and the
// dashboard's tile: one grouped count (GET /api/inventory/low-stock/summary), asked when
// the back office opens and when the tab is shown again.
import type { components } from "./api-types/inventory";

import { api } from "./api";
import { Latest } from "./latest.svelte";

export type LowStockSummary = components["schemas"]["LowStockSummary"];

class LowStockCount {
  /** null: not known (not asked yet, or the server did not answer). */
  summary = $state<LowStockSummary | null>(null);
  readonly #latest = new Latest();

  get low(): number {
    return this.summary?.low ?? 0;
  }

  async refresh(): Promise<void> {
    await this.#latest.run(
      () => api<LowStockSummary>("/api/inventory/low-stock/summary"),
      (answer) => (this.summary = answer),
      // A badge is not worth an error message: the low-stock page says what went wrong.
      () => (this.summary = null),
    );
  }
}

export const lowStockCount = new LowStockCount();
