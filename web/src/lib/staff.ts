// Who works at an outlet (GET /api/identity/outlets/{id}/staff) and what a refused PIN
// means in words: shared by the manager's approval and the cashier switch at a till.
import type { components } from "./api-types/identity";

import { api, ApiError } from "./api";
import { describeError } from "./errors";

export type Staff = components["schemas"]["StaffOut"];

export function outletStaff(outletId: string): Promise<Staff[]> {
  return api<Staff[]>(`/api/identity/outlets/${encodeURIComponent(outletId)}/staff`);
}

/** A PIN check's failure as a sentence: `wrongPin` for a PIN identity refused (403),
 * the lockout's wait for 429, else what went wrong while trying `doing`. */
export function pinFailure(error: unknown, wrongPin: string, doing: string): string {
  if (error instanceof ApiError && error.status === 403) return wrongPin;
  if (error instanceof ApiError && error.status === 429) return "Too many PIN attempts. Wait a minute, then try again.";
  return describeError(error, doing);
}
