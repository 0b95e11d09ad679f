// Test helpers for the offline modules (imported by *.test.ts only): a fake sales
// server for POST /api/sales/offline and a Web Locks stand-in shared by "tabs".

import { ApiError } from "./errors";
import type { OfflineSaleBody } from "./offlineDb";
import type { LockManagerLike } from "./offlineQueue";

export type Behaviour = "ok" | "lost" | "down" | "gateway" | "refuse" | "conflict" | "error500" | "login" | "busy";

/** Records each sale id once (as the server does) and answers it the same way. */
export class FakeServer {
  recorded = new Map<string, OfflineSaleBody>();
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** per call, or by id */
  plan: Behaviour[] = [];
  byId = new Map<string, Behaviour>();
  delayMs = 0;

  send = async (body: OfflineSaleBody): Promise<unknown> => {
    this.calls.push(body.id);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      else await Promise.resolve();
      const how = this.byId.get(body.id) ?? this.plan.shift() ?? "ok";
      switch (how) {
        case "down":
          throw new ApiError(0, "the server could not be reached");
        case "gateway":
          throw new ApiError(503, "service unavailable, try again");
        case "refuse":
          throw new ApiError(422, "line 1: total 10 is not price x qty - discount (12)");
        case "conflict":
          throw new ApiError(409, "this sale id was already used for a different sale");
        case "error500":
          throw new ApiError(500, "internal server error");
        case "login":
          throw new ApiError(401, "token expired");
        case "busy": // sales' admission: no turn for an offline sync right now
          throw new ApiError(429, "the server is busy with the tills selling now", null, 5000);
        default:
          break;
      }
      const first = this.recorded.get(body.id);
      if (first && JSON.stringify(first) !== JSON.stringify(body)) throw new ApiError(409, "this sale id was already used for a different sale");
      this.recorded.set(body.id, body);
      const receipt = { sale_id: body.id, receipt_number: body.receipt_number, total_minor: body.total_minor, offline: true };
      if (how === "lost") throw new ApiError(0, "the server took too long to answer"); // recorded, answer lost
      return receipt;
    } finally {
      this.inFlight -= 1;
    }
  };
}

/** navigator.locks, in memory: one holder per name; ifAvailable gets null when held. */
export class FakeLocks implements LockManagerLike {
  private held = new Set<string>();
  async request<T>(name: string, _options: { ifAvailable: true }, callback: (lock: unknown) => Promise<T>): Promise<T> {
    if (this.held.has(name)) return callback(null);
    this.held.add(name);
    try {
      return await callback({ name });
    } finally {
      this.held.delete(name);
    }
  }
}
