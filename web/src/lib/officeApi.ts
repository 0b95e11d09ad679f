// Back-office calls and answer shapes the shared api() does not cover yet.

import { api } from "./api";
import type { Role } from "./types";

/** PATCH (identity edits users, outlets and registers with it). */
export function patch<T>(path: string, body: unknown): Promise<T> {
  return api<T>(path, { method: "PATCH", body });
}

/** A user as identity answers admins (more than the session's User). */
export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  outlets: string[];
  active: boolean;
  has_pin?: boolean;
  locked_until?: string | null;
}

