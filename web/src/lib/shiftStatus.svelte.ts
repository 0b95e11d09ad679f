// Whether this till's register has an open shift: shown in the top bar (a banner linking
// to open one, never blocking sales) and shared with the shift screen.

import { api, ApiError } from "./api";
import { Latest } from "./latest.svelte";
import type { Shift } from "./shift";

type State = "idle" | "loading" | "open" | "none" | "error";

class ShiftStatus {
  state = $state<State>("idle");
  shift = $state<Shift | null>(null);
  error = $state("");
  private key = "";
  private latest = new Latest();

  /** Ask again for the register's open shift (404 = none open). */
  async refresh(outletId: string | null, registerId: string | null): Promise<void> {
    const key = outletId && registerId ? `${outletId}/${registerId}` : "";
    const current = this.latest.begin();
    if (key !== this.key) {
      this.key = key;
      this.shift = null;
      this.state = "idle";
    }
    if (!outletId || !registerId) return;
    if (this.state !== "open" && this.state !== "none") this.state = "loading";
    try {
      const shift = await api<Shift>("/api/sales/shifts/current", { query: { outlet_id: outletId, register_id: registerId } });
      if (!current()) return;
      this.set(shift);
    } catch (e) {
      if (!current()) return;
      if (e instanceof ApiError && e.status === 404) {
        this.set(null);
      } else {
        this.state = "error";
        this.error = e instanceof ApiError ? e.detail : String(e);
      }
    }
  }

  /** What the shift screen learned (opened, closed). */
  set(shift: Shift | null): void {
    this.shift = shift && shift.status === "open" ? shift : null;
    this.state = this.shift ? "open" : "none";
    this.error = "";
  }
}

export const shiftStatus = new ShiftStatus();
