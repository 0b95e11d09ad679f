// The till's catalogue replica (issue 15, ADR 0015): its outlet's products (with the
// price at that outlet), barcodes and categories in IndexedDB, filled from
// GET /api/catalog/changes page by page in the background and then kept current by
// asking for the changes since the stored cursor. Scans and searches are answered here
// in a few milliseconds, with or without the network.
//
// One database per outlet ("pos-replica-<outlet id>"), four stores:
//   products    key id; indexes: barcodes (multiEntry, exact scan), sku (folded SKU,
//               exact)
//   search      key: the log sequence; one search-index segment per page applied
//               (lib/replica-index.ts: the page's products' words, sorted), the log the
//               in-memory index is rebuilt from on open
//   categories  key id
//   meta        key "state": { cursor, filled, epoch, logSeq, ... }, written in the same
//               transaction as the rows and the segment of the page that cursor follows,
//               so a fill or a sync stopped anywhere (tab closed, crash, network) resumes
//               exactly where it stopped.
//
// Search: exact barcode, then exact SKU (IndexedDB indexes), then word prefixes answered
// by the in-memory index (ADR 0055; the server's matching and order, ADR 0010), and only
// the products shown are read from IndexedDB. The index is read back from the `search`
// store when the replica opens and follows every page applied, in this tab or another
// (a search first catches up with the log's sequence). Archived products are in no index
// that search or scan answer from (they stay in the store: a receipt may still name them).

import { openDB, type IDBPDatabase } from "idb";
import type { ProductLike } from "./cart";
import { MERGE_AT, mergeSegments, SearchIndex, Segment, SMALL_SEGMENT, type IndexEntry, type StoredSegment } from "./replica-index";

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
  /** price_minor's currency: the outlet's for its own price, else the product's. */
  currency: string;
  tax_class: string;
  unit: string;
  active: boolean;
  /** The product's 96 px picture; null (or absent, from an older catalog): none. */
  thumbnail_url?: string | null;
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
  /** The 96 px picture (the service worker keeps the ones shown; docs/web.md). */
  thumbnail_url: string | null;
  /** Why it was found: the exact barcode, the exact SKU, or word prefixes (as the
   * server's GET /api/catalog/search says). */
  match?: "barcode" | "sku" | "prefix";
}

// --- text: the same folding as the catalog service (pos_catalog/domain.py) -------------

const TERM_LENGTH = 40;
const SORT_KEY_LENGTH = 24;
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

// --- the stored record ----------------------------------------------------------------

interface Stored extends FeedProduct {
  /** sku index: the folded SKU. */
  s: string;
}

function toStored(p: FeedProduct): Stored {
  return { ...p, s: fold(p.sku) };
}

/** What the search index keeps of a product: its terms (the words of its name and SKU,
 * its barcodes; none when archived) and its sort key (the folded name's start). */
export function indexEntry(p: FeedProduct): IndexEntry {
  const nameWords = words(p.name);
  const terms = p.active ? [...new Set([...nameWords, ...words(p.sku), ...p.barcodes.map((code) => code.slice(0, TERM_LENGTH))])] : [];
  return { id: p.id, key: nameWords.join(" ").slice(0, SORT_KEY_LENGTH), terms };
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
    // The feed gives the outlet's own price in its currency (the outlet's).
    outlet_price_currency: r.outlet_price ? r.currency : null,
    currency: r.currency,
    tax_class: r.tax_class as ReplicaProduct["tax_class"],
    unit: r.unit,
    active: r.active,
    thumbnail_url: r.thumbnail_url ?? null,
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
  /** Bumped when the replica is emptied (a refill): an index of another epoch is rebuilt. */
  epoch: number;
  /** The key of the last search segment written (0: none). */
  logSeq: number;
  /** How many small segments end the stored log (MERGE_AT of them are merged into one;
   * absent in a replica written before merging: counted from 0 then). */
  tail?: number;
}

const EMPTY_META: Meta = { cursor: null, filled: false, fillStartedAt: null, filledAt: null, fillReceived: 0, lastSyncAt: null, epoch: 0, logSeq: 0, tail: 0 };
const STATE = "state";

export function databaseName(outletId: string): string {
  return `pos-replica-${outletId}`;
}

async function openReplicaDb(outletId: string): Promise<IDBPDatabase> {
  const db = await openDB(databaseName(outletId), 2, {
    upgrade(db) {
      // Version 1 had a `terms` index instead of the `search` log, and no way to build
      // the log from it short of reading every product: it starts again (a refill in the
      // background, the server answering meanwhile, as on a first log-in).
      for (const name of [...db.objectStoreNames]) db.deleteObjectStore(name);
      const products = db.createObjectStore("products", { keyPath: "id" });
      products.createIndex("barcodes", "barcodes", { multiEntry: true });
      products.createIndex("sku", "s");
      db.createObjectStore("search");
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
  /** The in-memory search index and the log position it reflects (null: not read yet). */
  private index: { index: SearchIndex; epoch: number; seq: number } | null = null;
  private indexing: Promise<SearchIndex> | null = null;

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
    // Read the search index back now (in the background), not at the first search.
    if (meta.logSeq) void this.searchIndex().catch(() => undefined);
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
    await this.indexing?.catch(() => undefined);
    if (this.dbPromise) (await this.dbPromise).close();
    this.dbPromise = null;
    this.index = null;
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
      // The next page is asked for while this one is written (its cursor is known as
      // soon as this page arrives); dropped if the stored cursor moved meanwhile.
      let next: { cursor: string | null; page: Promise<ChangesPage> } | null = null;
      const ask = (cursor: string | null, filled: boolean) => {
        const page = this.transport({ outletId: this.outletId, cursor, limit: filled ? this.syncLimit : this.fillLimit, signal: abort.signal });
        page.catch(() => undefined); // awaited below, or dropped
        return { cursor, page };
      };
      for (;;) {
        let page: ChangesPage;
        try {
          const asked: { cursor: string | null; page: Promise<ChangesPage> } = next !== null && next.cursor === meta.cursor ? next : ask(meta.cursor, meta.filled);
          next = null;
          page = await asked.page;
        } catch (e) {
          if (e instanceof CursorRejected) {
            meta = await this.clear();
            changed = true;
            this.publish({ filled: false, filling: true, syncing: false, products: 0, categories: 0, fillReceived: 0, refills: this.state.refills + 1 });
            continue;
          }
          throw e;
        }
        if (page.more && !abort.signal.aborted) next = ask(page.next_cursor, meta.filled);
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
      // A fill just completed: have the index ready before the first search.
      if (filling && meta.logSeq) void this.searchIndex().catch(() => undefined);
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
    const tx = db.transaction(["products", "categories", "search", "meta"], "readwrite", { durability: "relaxed" });
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
    // The page's search segment, under the next log sequence.
    const segment = page.products.length ? Segment.build(page.products.map(indexEntry)) : null;
    const logSeq = segment ? current.logSeq + 1 : current.logSeq;
    let tail = current.tail ?? 0;
    if (segment) {
      // A sync's small page ends a tail of small segments: at MERGE_AT they are rewritten
      // as one, under this page's log sequence (ADR 0055). Another tab's index that read
      // the merged segments takes the merged one as later versions of the same products.
      const search = tx.objectStore("search");
      tail = segment.ids.length < SMALL_SEGMENT ? tail + 1 : 0;
      if (tail >= MERGE_AT) {
        const keys = (await search.getAllKeys()) as number[];
        const older = keys.slice(keys.length - (tail - 1));
        const stored = (await Promise.all(older.map((k) => search.get(k)))) as StoredSegment[];
        const merged = mergeSegments([...stored.map((x) => Segment.load(x)), segment], older.length === keys.length);
        for (const k of older) writes.push(search.delete(k));
        writes.push(search.put(merged.store(), logSeq));
        tail = merged.ids.length < SMALL_SEGMENT ? 1 : 0;
      } else writes.push(search.put(segment.store(), logSeq));
    }
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
      epoch: current.epoch,
      logSeq,
      tail,
    };
    writes.push(metaStore.put(next, STATE));
    await Promise.all([...writes, tx.done]);
    // This tab's index (if read and current) takes the segment as it is; otherwise the
    // next search reads it from the log.
    const held = this.index;
    if (segment && held && held.epoch === next.epoch && held.seq === current.logSeq) {
      held.index.add(segment);
      held.seq = logSeq;
    }
    return next;
  }

  /** Forget everything (a 422 cursor): the next pages fill from scratch. */
  private async clear(): Promise<Meta> {
    const db = await this.db();
    const tx = db.transaction(["products", "categories", "search", "meta"], "readwrite");
    const old = ((await tx.objectStore("meta").get(STATE)) as Meta | undefined) ?? EMPTY_META;
    const meta: Meta = { ...EMPTY_META, epoch: old.epoch + 1 };
    await Promise.all([
      tx.objectStore("products").clear(),
      tx.objectStore("categories").clear(),
      tx.objectStore("search").clear(),
      tx.objectStore("meta").put(meta, STATE),
      tx.done,
    ]);
    this.index = null;
    return meta;
  }

  // --- the search index --------------------------------------------------------------------

  /** The in-memory search index, caught up with the log: read whole on first use (or
   * after a refill), else only the segments written since (by another tab). One at a
   * time. */
  searchIndex(): Promise<SearchIndex> {
    if (this.indexing) return this.indexing;
    const run = this.catchUp().finally(() => {
      if (this.indexing === run) this.indexing = null;
    });
    this.indexing = run;
    return run;
  }

  private async catchUp(): Promise<SearchIndex> {
    const db = await this.db();
    const tx = db.transaction(["meta", "search"]);
    const meta = ((await tx.objectStore("meta").get(STATE)) as Meta | undefined) ?? EMPTY_META;
    let held = this.index;
    if (held && held.epoch === meta.epoch && held.seq === meta.logSeq) return held.index;
    if (!held || held.epoch !== meta.epoch || held.seq > meta.logSeq) held = { index: new SearchIndex(), epoch: meta.epoch, seq: 0 };
    const stored = (await tx.objectStore("search").getAll(IDBKeyRange.bound(held.seq, meta.logSeq, true, false))) as StoredSegment[];
    for (const s of stored) held.index.add(Segment.load(s));
    held.seq = meta.logSeq;
    this.index = held;
    return held.index;
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
    await tx.done;
    const index = await this.searchIndex();
    const ids = index.find(qwords, limit - found.length, seen);
    if (!ids.length) return found;
    const read = db.transaction("products").objectStore("products");
    const rows = (await Promise.all(ids.map((id) => read.get(id)))) as (Stored | undefined)[];
    for (const r of rows) add(r, "prefix");
    return found;
  }
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
