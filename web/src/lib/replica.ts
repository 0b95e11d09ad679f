// The till's catalogue replica (issue 15, ADR 0015): its outlet's products (with the
// price at that outlet), barcodes and categories in IndexedDB, filled from
// GET /api/catalog/changes page by page in the background and then kept current by
// asking for the changes since the stored cursor. Scans and searches are answered here
// in a few milliseconds, with or without the network.
//
// One database per outlet ("pos-replica-<outlet id>"), three stores:
//   products    key id; indexes: barcodes (multiEntry, exact scan), sku (folded SKU,
//               exact), terms (multiEntry: "<word>\u0001<sort key>" for each word of the
//               name and SKU and each barcode, of active products only)
//   categories  key id
//   meta        key "state": { cursor, filled, ... }, written in the same transaction as
//               the rows of the page that cursor follows, so a fill or a sync stopped
//               anywhere (tab closed, crash, network) resumes exactly where it stopped.
//
// Search: the words of the query (case and accents ignored), the longest one driving a
// prefix range scan of `terms`; the index order is (word, name), so results come in the
// server's order (ADR 0010) and a broad query stops as soon as the page is full. Exact
// barcode, then exact SKU, come first. Archived products are in no index that search
// or scan answer from (they stay in the store: a receipt may still name them).

import { openDB, type IDBPDatabase } from "idb";
import type { ProductLike } from "./cart";

// --- the feed's JSON (services/catalog/pos_catalog/schemas.py ChangesPage) -------------

export interface FeedProduct {
  id: string;
  sku: string;
  name: string;
  barcodes: string[];
  category_id: string | null;
  /** The price at this outlet: its own price if it has one, else the product's. */
  price_minor: number;
  outlet_price: boolean;
  currency: string;
  tax_class: string;
  unit: string;
  active: boolean;
}

export interface FeedCategory {
  id: string;
  name: string;
  parent_id: string | null;
}

export interface ChangesPage {
  outlet_id: string;
  products: FeedProduct[];
  categories: FeedCategory[];
  deleted_categories: string[];
  next_cursor: string;
  more: boolean;
}

/** What search and scan answer: shaped like the catalog's products (lib/types.ts
 * Product, minus description and cost, which a till does not need), so Finder and
 * addToCart take either. `price_minor` is already this outlet's price; when it is the
 * outlet's own, `outlet_price_minor` carries it too (the product's own price is not in
 * the feed), so `unitPrice()` is right either way. */
export interface ReplicaProduct extends ProductLike {
  barcodes: string[];
  category_id: string | null;
  outlet_price_minor: number | null;
  tax_class: "standard" | "reduced" | "zero";
  unit: string;
  active: boolean;
  /** Why it was found: the exact barcode, the exact SKU, or word prefixes (as the
   * server's GET /api/catalog/search says). */
  match?: "barcode" | "sku" | "prefix";
}

// --- text: the same folding as the catalog service (pos_catalog/domain.py) -------------

const TERM_LENGTH = 40;
const SORT_KEY_LENGTH = 24;
const SEP = "\u0001"; // between a word and the sort key in a terms entry (below any letter)
const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}/gu;

/** Case- and accent-insensitive form: "Crème Brûlée" -> "creme brulee". */
export function fold(text: string): string {
  return text.normalize("NFKD").replace(MARKS, "").toLowerCase();
}

/** The folded words of a text (letters and digits; anything else separates). */
export function words(text: string): string[] {
  return (fold(text).match(WORD) ?? []).map((w) => w.slice(0, TERM_LENGTH));
}

function sortKey(name: string): string {
  return words(name).join(" ").slice(0, SORT_KEY_LENGTH);
}

// --- the stored record ----------------------------------------------------------------

interface Stored extends FeedProduct {
  /** terms index entries: "<word>\u0001<sort key>" (empty when archived). */
  t: string[];
  /** sku index: the folded SKU. */
  s: string;
}

function toStored(p: FeedProduct): Stored {
  const key = sortKey(p.name);
  const terms = new Set<string>();
  if (p.active) {
    for (const w of words(p.name)) terms.add(w + SEP + key);
    for (const w of words(p.sku)) terms.add(w + SEP + key);
    for (const code of p.barcodes) terms.add(code.slice(0, TERM_LENGTH) + SEP + key);
  }
  return { ...p, t: [...terms], s: fold(p.sku) };
}

function toProduct(r: Stored, match?: ReplicaProduct["match"]): ReplicaProduct {
  const product: ReplicaProduct = {
    id: r.id,
    sku: r.sku,
    name: r.name,
    barcodes: r.barcodes,
    category_id: r.category_id,
    price_minor: r.price_minor,
    outlet_price_minor: r.outlet_price ? r.price_minor : null,
    currency: r.currency,
    tax_class: r.tax_class as ReplicaProduct["tax_class"],
    unit: r.unit,
    active: r.active,
  };
  if (match) product.match = match;
  return product;
}

interface Meta {
  /** next_cursor of the last page applied; null: nothing applied yet. */
  cursor: string | null;
  /** true once a page with more: false was applied (the fill is complete). */
  filled: boolean;
  /** When the current fill started, and when the last one completed. */
  fillStartedAt: number | null;
  filledAt: number | null;
  /** Products received by the current fill so far (progress). */
  fillReceived: number;
  /** The last time the replica was known to be up to date with the server. */
  lastSyncAt: number | null;
}

const EMPTY_META: Meta = { cursor: null, filled: false, fillStartedAt: null, filledAt: null, fillReceived: 0, lastSyncAt: null };
const STATE = "state";

export function databaseName(outletId: string): string {
  return `pos-replica-${outletId}`;
}

async function openReplicaDb(outletId: string): Promise<IDBPDatabase> {
  const db = await openDB(databaseName(outletId), 1, {
    upgrade(db) {
      const products = db.createObjectStore("products", { keyPath: "id" });
      products.createIndex("barcodes", "barcodes", { multiEntry: true });
      products.createIndex("sku", "s");
      products.createIndex("terms", "t", { multiEntry: true });
      db.createObjectStore("categories", { keyPath: "id" });
      db.createObjectStore("meta");
    },
    blocking() {
      db.close(); // a newer version elsewhere (a newer app in another tab): let it upgrade
    },
  });
  return db;
}

// --- fetching pages ----------------------------------------------------------------------

/** The server said the cursor is no good (422): the replica must be filled again. */
export class CursorRejected extends Error {
  constructor(detail: string) {
    super(`the catalogue refused the replica's cursor: ${detail}`);
    this.name = "CursorRejected";
  }
}

export interface PageRequest {
  outletId: string;
  cursor: string | null;
  limit: number;
  signal?: AbortSignal;
}

/** Fetches one page of the changes feed; throws CursorRejected on a 422 about the cursor. */
export type ChangesTransport = (request: PageRequest) => Promise<ChangesPage>;

/** A transport over fetch(): `token` gives the bearer token (the session's). */
export function httpTransport(fetchFn: typeof fetch = (...a) => fetch(...a), token: () => string | null = () => null): ChangesTransport {
  return async ({ outletId, cursor, limit, signal }) => {
    const params = new URLSearchParams({ outlet_id: outletId, limit: String(limit) });
    if (cursor) params.set("cursor", cursor);
    const headers: Record<string, string> = { Accept: "application/json" };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    const response = await fetchFn(`/api/catalog/changes?${params}`, { headers, signal, cache: "no-store" });
    if (response.status === 422 && cursor) {
      let detail = "";
      try {
        detail = JSON.stringify(((await response.json()) as { detail?: unknown }).detail ?? "");
      } catch {
        /* not JSON */
      }
      throw new CursorRejected(detail || "422");
    }
    if (!response.ok) throw new Error(`GET /api/catalog/changes answered ${response.status}`);
    return (await response.json()) as ChangesPage;
  };
}

// --- the replica -------------------------------------------------------------------------

export interface ReplicaState {
  outletId: string;
  /** The fill completed: the replica has the whole catalogue (as of lastSyncAt). */
  filled: boolean;
  /** A fill or a sync is running now. */
  filling: boolean;
  syncing: boolean;
  /** Products stored (archived ones included) and active ones are not told apart
   * here: `products` is the store's count after the last fill or sync. */
  products: number;
  categories: number;
  /** While filling: products received so far by this fill. */
  fillReceived: number;
  lastSyncAt: number | null;
  filledAt: number | null;
  /** The last failure of a fill or sync (null after a success). */
  error: string | null;
  /** A 422 made the replica start again (count since this page load). */
  refills: number;
}

export interface ReplicaOptions {
  outletId: string;
  transport: ChangesTransport;
  /** Entries per page while filling, and per page of a sync (1-5000). */
  fillLimit?: number;
  syncLimit?: number;
  /** Polling interval once filled (ms); 0 = no polling (syncNow() only). */
  pollMs?: number;
  /** Wait after a failed fill or sync before trying again (ms). */
  retryMs?: number;
  onState?: (state: ReplicaState) => void;
  now?: () => number;
}

export class Replica {
  readonly outletId: string;
  private readonly transport: ChangesTransport;
  private readonly fillLimit: number;
  private readonly syncLimit: number;
  private readonly pollMs: number;
  private readonly retryMs: number;
  private readonly onState?: (state: ReplicaState) => void;
  private readonly now: () => number;
  private dbPromise: Promise<IDBPDatabase> | null = null;
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | null = null;
  private stopped = true;
  private state: ReplicaState;

  constructor(options: ReplicaOptions) {
    this.outletId = options.outletId;
    this.transport = options.transport;
    this.fillLimit = options.fillLimit ?? 1000;
    this.syncLimit = options.syncLimit ?? 1000;
    this.pollMs = options.pollMs ?? 30_000;
    this.retryMs = options.retryMs ?? 10_000;
    this.onState = options.onState;
    this.now = options.now ?? Date.now;
    this.state = {
      outletId: this.outletId,
      filled: false,
      filling: false,
      syncing: false,
      products: 0,
      categories: 0,
      fillReceived: 0,
      lastSyncAt: null,
      filledAt: null,
      error: null,
      refills: 0,
    };
  }

  get snapshot(): ReplicaState {
    return { ...this.state };
  }

  private db(): Promise<IDBPDatabase> {
    this.dbPromise ??= openReplicaDb(this.outletId);
    return this.dbPromise;
  }

  private publish(change: Partial<ReplicaState>): void {
    this.state = { ...this.state, ...change };
    this.onState?.(this.snapshot);
  }

  /** Read what is stored (filled? counts) without touching the network. */
  async load(): Promise<ReplicaState> {
    const db = await this.db();
    const meta = ((await db.get("meta", STATE)) as Meta | undefined) ?? EMPTY_META;
    const tx = db.transaction(["products", "categories"]);
    const [products, categories] = await Promise.all([tx.objectStore("products").count(), tx.objectStore("categories").count()]);
    this.publish({
      filled: meta.filled,
      products,
      categories,
      fillReceived: meta.fillReceived,
      lastSyncAt: meta.lastSyncAt,
      filledAt: meta.filledAt,
    });
    return this.snapshot;
  }

  /** Start in the background: resume or begin the fill, then poll for changes. Returns
   * at once; the till is usable meanwhile (search falls back to the server). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.load()
      .catch(() => undefined)
      .then(() => this.syncNow())
      .catch(() => undefined);
  }

  /** Stop polling and abort a page in flight (the stored cursor stays; start() resumes). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  /** Close the database (after stop()). */
  async close(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
    if (this.dbPromise) (await this.dbPromise).close();
    this.dbPromise = null;
  }

  /** Fill or sync now (one at a time: a call during a run waits for that run). Resolves
   * when the replica is up to date, rejects with the failure (and retries later). */
  syncNow(): Promise<void> {
    if (this.running) return this.running;
    clearTimeout(this.timer);
    const run = this.run().finally(() => {
      if (this.running === run) this.running = null;
      this.schedule();
    });
    this.running = run;
    return run;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const wait = this.state.error ? this.retryMs : this.pollMs;
    if (wait > 0) this.timer = setTimeout(() => void this.syncNow().catch(() => undefined), wait);
  }

  private async run(): Promise<void> {
    const db = await this.db();
    let meta = ((await db.get("meta", STATE)) as Meta | undefined) ?? EMPTY_META;
    const filling = !meta.filled;
    this.publish({ filling, syncing: !filling, error: null });
    let changed = false;
    const abort = new AbortController();
    this.abort = abort;
    try {
      for (;;) {
        let page: ChangesPage;
        try {
          page = await this.transport({
            outletId: this.outletId,
            cursor: meta.cursor,
            limit: meta.filled ? this.syncLimit : this.fillLimit,
            signal: abort.signal,
          });
        } catch (e) {
          if (e instanceof CursorRejected) {
            meta = await this.clear();
            changed = true;
            this.publish({ filled: false, filling: true, syncing: false, products: 0, categories: 0, fillReceived: 0, refills: this.state.refills + 1 });
            continue;
          }
          throw e;
        }
        const applied = await this.apply(db, meta, page);
        if (!applied) {
          // Another tab of this till moved the cursor meanwhile: carry on from its cursor.
          meta = ((await db.get("meta", STATE)) as Meta | undefined) ?? EMPTY_META;
          continue;
        }
        meta = applied;
        changed ||= page.products.length + page.categories.length + page.deleted_categories.length > 0;
        if (!meta.filled) this.publish({ fillReceived: meta.fillReceived });
        if (!page.more) break;
        if (abort.signal.aborted) throw new DOMException("stopped", "AbortError");
      }
      const counts = changed || !this.state.filled ? await this.counts(db) : {};
      this.publish({ ...counts, filled: true, filling: false, syncing: false, lastSyncAt: meta.lastSyncAt, filledAt: meta.filledAt, fillReceived: meta.fillReceived });
    } catch (e) {
      const aborted = e instanceof DOMException && e.name === "AbortError";
      this.publish({ filling: false, syncing: false, error: aborted ? null : e instanceof Error ? e.message : String(e) });
      if (!aborted) throw e;
    } finally {
      if (this.abort === abort) this.abort = null;
    }
  }

  private async counts(db: IDBPDatabase): Promise<Partial<ReplicaState>> {
    const tx = db.transaction(["products", "categories"]);
    const [products, categories] = await Promise.all([tx.objectStore("products").count(), tx.objectStore("categories").count()]);
    return { products, categories };
  }

  /** Apply one page and store its cursor, in one transaction; null (and nothing
   * written) when the stored cursor is no longer the one the page was asked from. */
  private async apply(db: IDBPDatabase, from: Meta, page: ChangesPage): Promise<Meta | null> {
    const tx = db.transaction(["products", "categories", "meta"], "readwrite", { durability: "relaxed" });
    const metaStore = tx.objectStore("meta");
    const current = ((await metaStore.get(STATE)) as Meta | undefined) ?? EMPTY_META;
    if (current.cursor !== from.cursor) {
      tx.abort();
      await tx.done.catch(() => undefined);
      return null;
    }
    const products = tx.objectStore("products");
    const categories = tx.objectStore("categories");
    const now = this.now();
    // Queue every request without awaiting each (one event-loop turn per page, not per row).
    const writes: Promise<unknown>[] = [];
    for (const p of page.products) writes.push(products.put(toStored(p)));
    for (const c of page.categories) writes.push(categories.put(c));
    for (const id of page.deleted_categories) writes.push(categories.delete(id));
    const done = !page.more;
    const next: Meta = {
      cursor: page.next_cursor,
      filled: current.filled || done,
      fillStartedAt: current.fillStartedAt ?? now,
      filledAt: current.filled ? current.filledAt : done ? now : null,
      fillReceived: current.filled ? current.fillReceived : current.fillReceived + page.products.length,
      lastSyncAt: done ? now : current.lastSyncAt,
    };
    writes.push(metaStore.put(next, STATE));
    await Promise.all([...writes, tx.done]);
    return next;
  }

  /** Forget everything (a 422 cursor): the next pages fill from scratch. */
  private async clear(): Promise<Meta> {
    const db = await this.db();
    const tx = db.transaction(["products", "categories", "meta"], "readwrite");
    await Promise.all([tx.objectStore("products").clear(), tx.objectStore("categories").clear(), tx.objectStore("meta").put(EMPTY_META, STATE), tx.done]);
    return EMPTY_META;
  }

  // --- reading ---------------------------------------------------------------------------

  /** The active product with this barcode, or null. */
  async lookupBarcode(code: string): Promise<ReplicaProduct | null> {
    const trimmed = code.trim();
    if (!trimmed) return null;
    const db = await this.db();
    const rows = (await db.getAllFromIndex("products", "barcodes", trimmed)) as Stored[];
    const row = rows.find((r) => r.active); // during a sync a moved code may sit on two
    return row ? toProduct(row, "barcode") : null;
  }

  /** A product by id (archived ones too), or null. */
  async get(id: string): Promise<ReplicaProduct | null> {
    const row = (await (await this.db()).get("products", id)) as Stored | undefined;
    return row ? toProduct(row) : null;
  }

  async categories(): Promise<FeedCategory[]> {
    const rows = (await (await this.db()).getAll("categories")) as FeedCategory[];
    return rows.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Active products found by `text`: the exact barcode, then the exact SKU, then
   * products having, for each word of `text`, a word (of name or SKU) or barcode
   * starting with it, in (matching word, name) order. At most `limit`. */
  async search(text: string, limit = 24): Promise<ReplicaProduct[]> {
    const query = text.trim();
    if (!query || limit <= 0) return [];
    const db = await this.db();
    const tx = db.transaction("products");
    const store = tx.objectStore("products");
    const found: ReplicaProduct[] = [];
    const seen = new Set<string>();
    const add = (r: Stored | undefined, match: ReplicaProduct["match"]) => {
      if (r && r.active && !seen.has(r.id) && found.length < limit) {
        seen.add(r.id);
        found.push(toProduct(r, match));
      }
    };
    if (/^\d{1,32}$/.test(query)) {
      for (const r of (await store.index("barcodes").getAll(query)) as Stored[]) add(r, "barcode");
    }
    if (!/\s/.test(query) && query.length <= 64) {
      for (const r of (await store.index("sku").getAll(fold(query))) as Stored[]) add(r, "sku");
    }
    const qwords = [...new Set(words(query))].sort((a, b) => b.length - a.length);
    if (!qwords.length || found.length >= limit) return found;
    const index = store.index("terms");
    const range = (w: string) => IDBKeyRange.bound(w, w + "\uffff", false, true);
    if (qwords.length === 1) {
      // One word: its range in index order, values read with getAll (far faster than a
      // cursor); a broad word stops at the first batch. A product with two words
      // starting alike comes twice in the range: the next batch is bigger.
      let read = 0;
      for (let batch = limit * 2 + 16; ; batch *= 4) {
        const rows = (await index.getAll(range(qwords[0]), batch)) as Stored[];
        for (let i = read; i < rows.length && found.length < limit; i++) add(rows[i], "prefix");
        read = rows.length;
        if (found.length >= limit || rows.length < batch) break;
      }
      return found;
    }
    // Several words: the product keys of each word's range, keys only (no values read),
    // at most KEY_CAP each. The smallest complete list drives (its index order is the
    // result order: that word, then name); the other complete lists are sets it is
    // checked against. A word whose list was cut (a broad prefix: "a") is checked on the
    // products themselves, read in parallel chunks, at most CHECK_CAP of them: a query
    // of broad words only may then show fewer than it could ("type more").
    const lists = (await Promise.all(qwords.map((w) => index.getAllKeys(range(w), KEY_CAP)))) as string[][];
    let driver = 0;
    for (let i = 1; i < lists.length; i++) {
      const complete = lists[i].length < KEY_CAP;
      if (complete && (lists[driver].length >= KEY_CAP || lists[i].length < lists[driver].length)) driver = i;
    }
    const sets = lists.map((keys, i) => (i === driver || keys.length >= KEY_CAP ? null : new Set(keys)));
    const broad = qwords.filter((_w, i) => i !== driver && lists[i].length >= KEY_CAP);
    const candidates: string[] = [];
    for (const id of lists[driver]) {
      if (seen.has(id) || !sets.every((set) => set === null || set.has(id))) continue;
      seen.add(id);
      candidates.push(id);
      if (candidates.length >= (broad.length ? CHECK_CAP : limit)) break;
    }
    seen.clear();
    for (const r of found) seen.add(r.id);
    const chunk = broad.length ? 256 : limit;
    for (let at = 0; at < candidates.length && found.length < limit; at += chunk) {
      const rows = (await Promise.all(candidates.slice(at, at + chunk).map((id) => store.get(id)))) as (Stored | undefined)[];
      for (const r of rows) if (r && (!broad.length || hasAllPrefixes(r, broad))) add(r, "prefix");
    }
    return found;
  }
}

/** Keys read at most per word of a several-word query. */
const KEY_CAP = 4000;
/** Products read at most to check a several-word query's broad words. */
const CHECK_CAP = 2048;

function hasAllPrefixes(r: Stored, prefixes: string[]): boolean {
  const own = r.t.map((entry) => entry.slice(0, entry.indexOf(SEP)));
  return prefixes.every((p) => own.some((w) => w.startsWith(p)));
}

// --- where the till searches ---------------------------------------------------------------

export interface SourceChoice {
  source: "replica" | "server";
  /** true: the replica is not filled yet, so some products may be missing. */
  partial: boolean;
  /** A sentence for the till when it matters (empty otherwise). */
  note: string;
}

/** Where the till should search and scan: the replica once it is filled; the server
 * while it is filling (the till is usable at once whatever the catalogue's size); the
 * replica when offline even if only partly filled, saying so. */
export function catalogSource(state: Pick<ReplicaState, "filled" | "fillReceived" | "products">, online: boolean): SourceChoice {
  if (state.filled) return { source: "replica", partial: false, note: "" };
  if (online) return { source: "server", partial: false, note: "" };
  const have = Math.max(state.fillReceived, state.products);
  return {
    source: "replica",
    partial: true,
    note: have
      ? `Offline: searching the ${have.toLocaleString()} products this till has so far (it had not finished loading the catalogue). A product not found may still exist.`
      : "Offline, and this till has not loaded the catalogue yet: products cannot be found until the network is back.",
  };
}
