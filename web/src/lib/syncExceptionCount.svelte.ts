// The number of open sync exceptions at the user's outlets, for the back office menu's
// badge: one COUNT (GET /api/sales/sync-exceptions/count), asked when the back office
// opens, when the list opens, after a resolve and when the tab is shown again.

import { api } from "./api";

class SyncExceptionCount {
  /** null: not known (not asked yet, or the server did not answer). */
  open = $state<number | null>(null);
  #asking = 0;

  async refresh(): Promise<void> {
    const mine = ++this.#asking;
    try {
      const answer = await api<{ open: number }>("/api/sales/sync-exceptions/count");
      if (mine === this.#asking) this.open = answer.open;
    } catch {
      // A badge is not worth an error message: the list itself says what went wrong.
      if (mine === this.#asking) this.open = null;
    }
  }
}

export const syncExceptionCount = new SyncExceptionCount();
