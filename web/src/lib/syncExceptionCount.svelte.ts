// The number of open sync exceptions at the user's outlets, for the back office menu's
// badge: one COUNT (GET /api/sales/sync-exceptions/count), asked when the back office
// opens, when the list opens, after a resolve and when the tab is shown again.

import { api } from "./api";
import { Latest } from "./latest.svelte";

class SyncExceptionCount {
  /** null: not known (not asked yet, or the server did not answer). */
  open = $state<number | null>(null);
  readonly #latest = new Latest();

  async refresh(): Promise<void> {
    await this.#latest.run(
      () => api<{ open: number }>("/api/sales/sync-exceptions/count"),
      (answer) => (this.open = answer.open),
      // A badge is not worth an error message: the list itself says what went wrong.
      () => (this.open = null),
    );
  }
}

export const syncExceptionCount = new SyncExceptionCount();
