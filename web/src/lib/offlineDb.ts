// The till's offline store in IndexedDB (issue 15): the queue of sales taken offline,
// the per-register receipt sequence, the answers of synced sales (for reprints) and a
// few facts that must survive a reload (when the till went offline, the sync lease).
// One database per browser profile, shared by every tab of the app.

import { openDB, type DBSchema, type IDBPDatabase } from "idb";

export const OFFLINE_DB = "pos-till-offline";
const VERSION = 1;

/** The body of POST /api/sales/offline (services/sales/pos_sales/schemas.py OfflineSaleIn). */
export interface OfflineSaleBody {
  id: string;
  outlet_id: string;
  register_id: string;
  shift_id?: string | null;
  /** who was logged in when it was sold (absent in sales queued by an older till) */
  cashier_id?: string | null;
  receipt_number: string;
  sold_at: string;
  currency: string;
  prices_include_tax: boolean;
  lines: {
    product_id: string;
    sku: string;
    name: string;
    category_id?: string | null;
    qty: number;
    unit_price_minor: number;
    /** line and cart discount on this line */
    discount_minor: number;
    tax_rate_bp: number;
    tax_minor: number;
    total_minor: number;
  }[];
  total_minor: number;
  tax_minor: number;
  rounding_minor: number;
  /** cash, one card taken offline on the card reader (its reference: captured at the
   * sync), or foreign cash at the rate the till kept (ADR 0061) */
  tenders: OfflineTender[];
  change_minor: number;
}

/** A tender of an offline sale (schemas.py OfflineTenderIn). Foreign cash: `amount_minor`
 * is what it paid of the sale, `tendered_minor` that plus the change given in the sale's
 * currency, `foreign_minor` what was handed over in `currency`, at `rate` (units of
 * `currency` per unit of the sale's) of `rate_source` and `rate_as_of` (YYYY-MM-DD). */
export type OfflineTender =
  | { kind: "cash" | "card"; amount_minor: number; tendered_minor: number; reader_ref?: string }
  | {
      kind: "foreign_cash";
      amount_minor: number;
      tendered_minor: number;
      currency: string;
      foreign_minor: number;
      rate: string;
      rate_source: string;
      rate_as_of: string;
    };

export type QueueStatus = "pending" | "needs_attention";

export interface QueuedSale {
  /** the queue's order (auto-increment): oldest first */
  seq?: number;
  id: string;
  register_id: string;
  body: OfflineSaleBody;
  /** when the sale was taken (epoch ms) */
  created_at: number;
  status: QueueStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: number | null;
}

/** A sale the server recorded: its answer (the receipt) kept for reprints. */
export interface SyncedSale {
  id: string;
  receipt_number: string;
  register_id: string;
  sold_at: string;
  synced_at: number;
  receipt: unknown;
}

interface OfflineSchema extends DBSchema {
  queue: { key: number; value: QueuedSale; indexes: { id: string; status: QueueStatus } };
  counters: { key: string; value: { register_id: string; last: number } };
  synced: { key: string; value: SyncedSale; indexes: { synced_at: number } };
  meta: { key: string; value: { key: string; value: unknown } };
}

export type OfflineDb = IDBPDatabase<OfflineSchema>;

const opened = new Map<string, Promise<OfflineDb>>();

/** The offline database (one connection per name and module instance). A newer version
 * opened by another tab (after a deploy) closes this connection rather than block it. */
export function openOfflineDb(name = OFFLINE_DB): Promise<OfflineDb> {
  let db = opened.get(name);
  if (!db) {
    db = openDB<OfflineSchema>(name, VERSION, {
      upgrade(database) {
        const queue = database.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        queue.createIndex("id", "id", { unique: true });
        queue.createIndex("status", "status");
        database.createObjectStore("counters", { keyPath: "register_id" });
        database.createObjectStore("synced", { keyPath: "id" }).createIndex("synced_at", "synced_at");
        database.createObjectStore("meta", { keyPath: "key" });
      },
      blocking() {
        void db?.then((d) => d.close());
        opened.delete(name);
      },
      terminated() {
        opened.delete(name);
      },
    });
    opened.set(name, db);
    db.catch(() => opened.delete(name));
  }
  return db;
}

/** Close and forget a connection (tests simulate a reload with it). */
export async function closeOfflineDb(name = OFFLINE_DB): Promise<void> {
  const db = opened.get(name);
  opened.delete(name);
  if (db) (await db).close();
}

export async function readMeta<T>(db: OfflineDb, key: string): Promise<T | undefined> {
  return (await db.get("meta", key))?.value as T | undefined;
}

export async function writeMeta(db: OfflineDb, key: string, value: unknown): Promise<void> {
  await db.put("meta", { key, value });
}

/** The oldest sale not yet synced (pending or needing attention), or null. */
export async function oldestUnsynced(db: OfflineDb): Promise<QueuedSale | null> {
  const cursor = await db.transaction("queue").store.openCursor();
  return cursor?.value ?? null;
}
