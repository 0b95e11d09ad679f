// Back-office calls and answer shapes the shared api() does not cover yet.
import type { components as Identity } from "./api-types/identity";

import { api } from "./api";

/** PATCH (identity edits users, outlets and registers with it). */
export function patch<T>(path: string, body: unknown): Promise<T> {
  return api<T>(path, { method: "PATCH", body });
}

/** A user as identity answers admins (more than the session's User). */
export type AdminUser = Identity["schemas"]["UserOut"];

