// Sync exceptions (issue 15): what a till's offline sales were found to differ in when
// they reached the services (GET /api/sales/sync-exceptions), in words a manager acts on.
// The kinds and "what to do" are docs/offline.md's table; amounts come as figures
// (`facts`, minor units of the sale's currency) and are shown as money here.

import { formatDateTime } from "./format";
import { formatMoney } from "./money";

export type SyncExceptionState = "open" | "resolved" | "all";

/** One finding of a sync, as the API gives it (its fields depend on the kind). */
export type SyncFact = Record<string, unknown>;

export interface SyncException {
  id: number;
  sale_id: string;
  outlet_id: string;
  receipt_number: string | null;
  kind: string;
  detail: string;
  facts: SyncFact[];
  created_at: string;
  sold_at: string | null;
  synced_at: string | null;
  register_id: string | null;
  register_name: string | null;
  register_number: number | null;
  currency: string | null;
  total_minor: number | null;
  resolved_at: string | null;
  resolved_by: string | null;
  resolved_by_name: string | null;
  note: string | null;
}

export interface KindText {
  /** A few words for the list. */
  title: string;
  /** What happened, in a sentence. */
  what: string;
  /** What the manager does about it (docs/offline.md). */
  todo: string;
}

const KINDS: Record<string, KindText> = {
  price_changed: {
    title: "Price changed",
    what: "The till charged another price than the shelf price now.",
    todo: "Confirm the price. The customer paid the price on their receipt.",
  },
  product_archived: {
    title: "Product archived",
    what: "A product on the sale was archived before the sale reached the office.",
    todo: "Check the line; restore the product if it is still sold.",
  },
  product_unknown: {
    title: "Product not in the catalogue",
    what: "A product on the sale is not in the catalogue.",
    todo: "Check the line; recreate the product if it is still sold.",
  },
  stock_short: {
    title: "Stock was short",
    what: "The goods had left the shop, so the stock was taken below zero.",
    todo: "Count the shelf and correct the stock.",
  },
  shift_closed: {
    title: "Shift closed before the sale arrived",
    what: "The till's shift was closed before the sale was sent.",
    todo: "The cash is not in that shift's Z-report: reconcile it by hand.",
  },
  shift_unknown: {
    title: "Shift not this register's",
    what: "The till named a shift that is not one of this register's.",
    todo: "The cash is not in that Z-report: reconcile it by hand.",
  },
  over_offline_limits: {
    title: "Past the offline limits",
    what: "The sale broke one of the outlet's offline limits: how long a till may stay offline, or how large an offline sale may be.",
    todo: "Ask why the till was offline that long, or took so large a sale offline.",
  },
  discount_unapproved: {
    title: "Discount not approved",
    what: "A discount above the approval limit was given offline, where no manager's PIN can approve it.",
    todo: "Approve the discount, or take it up with the cashier.",
  },
  receipt_number_reused: {
    title: "Receipt number printed twice",
    what: "Another sale of the outlet printed the same receipt number (two browsers as one register, or the till's storage was cleared).",
    todo: "Nothing is lost: both sales are kept and this one is marked as a duplicate number. Check how that till is set up.",
  },
  cashier_unknown: {
    title: "Cashier not known at this outlet",
    what: "The till named a cashier this outlet does not have, so the sale is counted under the person whose session sent it.",
    todo: "Find out who sold it; the by-cashier figures count this sale under the sender.",
  },
  card_declined_after_sale: {
    title: "Card declined after the sale",
    what: "A card the till took offline on the card reader was declined when it was captured. The customer left with the goods; the sale is kept.",
    todo: "Contact the customer for the amount owed, or write it off. The outlet's offline card limits bound this risk.",
  },
  clock_ahead: {
    title: "Till clock ahead",
    what: "The till's clock was more than 5 minutes ahead.",
    todo: "The sale is counted as sold when it arrived. Set the till's clock right.",
  },
};

/** The kind in plain words (an unknown kind, from a newer server, still reads). */
export function kindText(kind: string): KindText {
  return KINDS[kind] ?? { title: kind.replace(/_/g, " "), what: "The sale differed from what the office knew.", todo: "Open the sale and check it." };
}

export const KNOWN_KINDS = Object.keys(KINDS);

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** What was found, one sentence per finding, amounts as money. Without figures (an
 * exception recorded before the server kept them) the server's words are shown. */
export function findings(e: Pick<SyncException, "kind" | "facts" | "detail" | "currency">, fallbackCurrency = "EUR", locale?: string): string[] {
  const currency = e.currency ?? fallbackCurrency;
  const money = (v: unknown) => {
    const n = num(v);
    return n === null ? "?" : formatMoney(Math.round(n), currency, locale);
  };
  const lines = (e.facts ?? []).map((f) => finding(e.kind, f, money, locale)).filter((s): s is string => !!s);
  return lines.length ? lines : e.detail ? [e.detail] : [];
}

function item(f: SyncFact): string {
  const name = str(f.name) || str(f.sku) || "A product";
  const qty = num(f.qty);
  return qty !== null && qty !== 1 ? `${name} × ${qty}` : name;
}

function finding(kind: string, f: SyncFact, money: (v: unknown) => string, locale?: string): string | null {
  switch (kind) {
    case "price_changed": {
      const sold = num(f.sold_minor);
      const shelf = num(f.shelf_minor);
      const qty = num(f.qty) ?? 1;
      let text = `${item(f)}: the till charged ${money(sold)}${qty !== 1 ? " each" : ""}, the shelf price is ${money(shelf)}`;
      if (sold !== null && shelf !== null && sold !== shelf) {
        text += ` (${money(Math.abs(shelf - sold) * qty)} ${sold < shelf ? "less" : "more"} than the shelf price${qty !== 1 ? " in all" : ""})`;
      }
      return text;
    }
    case "product_archived":
      return `${item(f)}${f.sku ? ` (SKU ${str(f.sku)})` : ""}: archived before the sale arrived`;
    case "product_unknown":
      return `${item(f)}${f.sku ? ` (SKU ${str(f.sku)})` : ""}: not in the catalogue`;
    case "stock_short": {
      const after = num(f.on_hand_after);
      return `${str(f.name) || "A product"}: ${num(f.qty) ?? "?"} sold, stock after the sale ${after === null ? "?" : after < 0 ? `−${-after}` : after}`;
    }
    case "shift_closed": {
      const closed = str(f.closed_at);
      return `${money(f.cash_minor)} in cash is missing from the Z-report of the shift${closed ? ` closed ${formatDateTime(closed, locale)}` : ""}`;
    }
    case "shift_unknown":
      return "The sale was put in the register's open shift, if there was one";
    case "card_declined_after_sale":
      return `${money(f.owed_minor)} owed: the card was declined at capture${str(f.decline_code) ? ` (${str(f.decline_code).replace(/_/g, " ")})` : ""}`;
    case "over_offline_limits":
      if (f.limit === "card") return `A card payment of ${money(f.card_minor)} taken offline; the outlet does not allow cards offline`;
      if (f.limit === "card_sale") return `A card payment of ${money(f.card_minor)} taken offline; the outlet allows ${money(f.allowed_minor)} by card offline`;
      if (f.limit === "sale") return `A sale of ${money(f.total_minor)}; the outlet allows ${money(f.allowed_minor)} offline`;
      return `Sent ${num(f.hours) ?? "?"} h after the sale; the outlet allows ${num(f.allowed_hours) ?? "?"} h offline`;
    case "discount_unapproved": {
      const bp = num(f.approval_bp);
      return `A discount of ${money(f.discount_minor)} on ${money(f.gross_minor)}${bp !== null ? `, above the ${bp / 100} % a manager approves` : ""}`;
    }
    case "receipt_number_reused": {
      const others = Array.isArray(f.other_sale_ids) ? f.other_sale_ids.length : 0;
      return others === 1 ? "One other sale printed the same number" : `${others} other sales printed the same number`;
    }
    case "cashier_unknown": {
      const under = str(f.recorded_under);
      const elsewhere = f.named_elsewhere === true ? "a user of another outlet" : "a user not known here";
      return `The till named ${elsewhere}; counted under ${under || "the sender"}`;
    }
    case "clock_ahead": {
      const ahead = num(f.seconds_ahead);
      const when = str(f.till_time);
      const minutes = ahead === null ? "?" : Math.round(ahead / 60);
      return `The till's clock said ${when ? formatDateTime(when, locale) : "?"}, ${minutes} min ahead`;
    }
    default:
      return null;
  }
}

/** The other sales that printed the same receipt number (to open them too). */
export function otherSales(e: Pick<SyncException, "kind" | "facts">): string[] {
  if (e.kind !== "receipt_number_reused") return [];
  return e.facts.flatMap((f) => (Array.isArray(f.other_sale_ids) ? f.other_sale_ids.filter((id): id is string => typeof id === "string") : []));
}

/** The register by its name (never its id in front of staff). */
export function registerLabel(e: Pick<SyncException, "register_id" | "register_name" | "register_number">): string {
  if (e.register_name) return e.register_name;
  if (e.register_number !== null && e.register_number !== undefined) return `Register ${e.register_number}`;
  return e.register_id ? "A register not known here" : "No register";
}

/** The list's query: open ones oldest first (to work through), the rest newest first. */
export function listQuery(state: SyncExceptionState, outletId: string, after: number, limit: number): Record<string, string | number> {
  return {
    state,
    order: state === "open" ? "oldest" : "newest",
    limit,
    ...(outletId ? { outlet_id: outletId } : {}),
    ...(after ? { after } : {}),
  };
}
