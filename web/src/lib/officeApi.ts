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

export interface Shift {
  id: string;
  outlet_id: string;
  register_id: string;
  status: "open" | "closed";
  currency: string;
  opened_by: string;
  opened_at: string;
  opening_float_minor: number;
  closed_by: string | null;
  closed_at: string | null;
  counted_cash_minor: number | null;
  expected_cash_minor?: number | null;
  over_short_minor?: number | null;
}

/** GET /api/sales/shifts/{id}/z-report (an X-report while the shift is open). */
export interface ZReport {
  shift_id: string;
  outlet_id: string;
  register_id: string;
  currency: string;
  opened_by: string;
  opened_at: string;
  closed_at: string | null;
  sales: { count: number; gross_minor: number; discount_minor: number; total_minor: number; tax_minor: number; rounding_minor: number };
  refunds: { count: number; total_minor: number; tax_minor: number };
  voids: { count: number };
  net_minor: number;
  tenders: Record<string, { taken_minor: number; refunded_minor: number }>;
  tax: { rate_bp: number; net_minor: number; tax_minor: number }[];
  cash: {
    opening_float_minor: number;
    sales_minor: number;
    refunds_minor: number;
    in_minor: number;
    out_minor: number;
    expected_minor: number;
    counted_minor?: number;
    over_short_minor?: number;
  };
}

/** "Over", "Short" or "Balanced" for a counted drawer. */
export function overShortText(minor: number): string {
  return minor > 0 ? "Over" : minor < 0 ? "Short" : "Balanced";
}
