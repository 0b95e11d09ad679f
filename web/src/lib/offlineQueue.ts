// The durable queue of sales taken offline (IndexedDB: survives reload, crash and
// browser restart) and its sync to POST /api/sales/offline (issue 15).
//
// Sync: oldest first, one at a time, each sale by its own id, as many times as it takes
// (the server records an id once and answers it the same way, so a lost answer is
// resent, never doubled). 201 -> off the queue, its receipt kept in `synced` for
// reprints (pruned after `keepSyncedDays`). No answer, 502/503/504 -> stop, retry later
// with exponential backoff and jitter (capped at 60 s) and say the services are
// unreachable. 401 -> stop until the cashier logs in again. 408/429/other 5xx -> stop
// and retry later; the same sale failing with a 5xx `maxServerErrors` times in a row is
// set aside. 409/422/other 4xx -> the sale is kept, marked needs_attention with the
// server's words, and the next one goes. Nothing is ever dropped.
//
// One tab syncs at a time: the Web Locks API (`navigator.locks`, ifAvailable) where the
// browser has it, else a lease row in IndexedDB renewed before each sale.

import { api, ApiError } from "./api";
import { openOfflineDb, readMeta, type OfflineDb, type OfflineSaleBody, type QueuedSale, type SyncedSale } from "./offlineDb";
import { QUEUE_CHANNEL, notifyQueueChanged } from "./offlineSale";
import { newId } from "./uuid";

export type { QueuedSale, SyncedSale } from "./offlineDb";

/** Posts one sale; resolves with the server's answer (the receipt), rejects with ApiError. */
export type Sender = (body: OfflineSaleBody) => Promise<unknown>;

/** The part of the Web Locks API the queue uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable: true }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

export interface QueueSnapshot {
  pending: number;
  needsAttention: number;
  /** when the oldest unsynced sale was taken (epoch ms), null: none */
  oldestCreatedAt: number | null;
  syncing: boolean;
  /** the last sync's problem, in words ("" when the last attempt went well) */
  lastError: string;
  /** the last sync stopped because the services could not be reached */
  unreachable: boolean;
  /** when the next automatic attempt is due (epoch ms), null: none planned */
  nextRetryAt: number | null;
}

export interface SyncReport {
  synced: number;
  needsAttention: number;
  /** why the run stopped before the queue was empty (null: it got through) */
  stopped: null | "unreachable" | "retry_later" | "login" | "busy";
  error: string;
  /** the server asked to be tried again after this long (a 429's Retry-After) */
  retryAfterMs?: number;
}

export interface CloseCheck {
  ok: boolean;
  pending: number;
  needsAttention: number;
  message: string;
}

export interface QueueOptions {
  dbName?: string;
  send?: Sender;
  /** null: no Web Locks (use the IndexedDB lease); default: navigator.locks when present */
  locks?: LockManagerLike | null;
  now?: () => number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** asked before an automatic attempt: false while the till knows it is offline */
  shouldTry?: () => boolean;
  keepSyncedDays?: number;
  maxServerErrors?: number;
  leaseMs?: number;
  /** when another tab holds the sync, look again after this long */
  busyRetryMs?: number;
  /** the sync learned that the services answer (true) or not (false) */
  onReachability?: (reachable: boolean) => void;
}

const LOCK_NAME = "pos-offline-sync";
const LEASE_KEY = "sync_lease";
const DAY = 86_400_000;

/** Wait before retry `attempt` (0-based): 1 s doubling, capped at 60 s, with jitter
 * (half to all of it), so tills coming back together do not knock at once. */
export function syncBackoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** POST /api/sales/offline through the app's api helper (token, refresh, timeouts). */
export const postOfflineSale: Sender = (body) => api<unknown>("/api/sales/offline", { method: "POST", body, timeoutMs: 30_000 });

type Verdict = "done" | "unreachable" | "retry" | "login" | "attention";

function classify(error: unknown): { verdict: Verdict; status: number; message: string; retryAfterMs?: number } {
  if (!(error instanceof ApiError)) {
    // Not an answer from the server (a bug or a fetch the helper did not wrap): retry later.
    return { verdict: "retry", status: 0, message: error instanceof Error ? error.message : String(error) };
  }
  const { status, detail } = error;
  if (status === 0 || status === 502 || status === 503 || status === 504) return { verdict: "unreachable", status, message: detail };
  if (status === 401) return { verdict: "login", status, message: detail };
  if (status === 429) {
    // The server takes offline syncs in turns while tills are selling: not a failure.
    return { verdict: "retry", status, message: detail, retryAfterMs: error.retryAfterMs ?? undefined };
  }
  if (status === 408 || status === 425 || status >= 500) return { verdict: "retry", status, message: detail };
  return { verdict: "attention", status, message: detail };
}

function receiptNumberOf(answer: unknown, fallback: string): string {
  if (answer && typeof answer === "object" && "receipt_number" in answer) {
    const n = (answer as { receipt_number: unknown }).receipt_number;
    if (typeof n === "string") return n;
  }
  return fallback;
}

export class OfflineQueue {
  private readonly dbName: string | undefined;
  private readonly send: Sender;
  private readonly locks: LockManagerLike | null;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly shouldTry: () => boolean;
  private readonly keepSyncedMs: number;
  private readonly maxServerErrors: number;
  private readonly leaseMs: number;
  private readonly busyRetryMs: number;
  private readonly onReachability: (reachable: boolean) => void;
  private readonly owner = newId();
  private listeners = new Set<(s: QueueSnapshot) => void>();
  private state: QueueSnapshot = { pending: 0, needsAttention: 0, oldestCreatedAt: null, syncing: false, lastError: "", unreachable: false, nextRetryAt: null };
  private running: Promise<SyncReport> | null = null;
  private failures = 0;
  private timer: unknown = null;
  private started = false;
  private channel: BroadcastChannel | null = null;

  constructor(options: QueueOptions = {}) {
    this.dbName = options.dbName;
    this.send = options.send ?? postOfflineSale;
    const nav = typeof navigator === "undefined" ? undefined : (navigator as Navigator & { locks?: LockManagerLike });
    this.locks = options.locks === undefined ? (nav?.locks ?? null) : options.locks;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.shouldTry = options.shouldTry ?? (() => true);
    this.keepSyncedMs = (options.keepSyncedDays ?? 14) * DAY;
    this.maxServerErrors = options.maxServerErrors ?? 5;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.busyRetryMs = options.busyRetryMs ?? 15_000;
    this.onReachability = options.onReachability ?? (() => {});
  }

  private db(): Promise<OfflineDb> {
    return openOfflineDb(this.dbName);
  }

  // --- what the till shows -----------------------------------------------------------

  get snapshot(): QueueSnapshot {
    return { ...this.state };
  }

  /** Called now and on every change; returns the unsubscribe function. */
  subscribe(listener: (s: QueueSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  private update(patch: Partial<QueueSnapshot>): void {
    this.state = { ...this.state, ...patch };
    const s = this.snapshot;
    for (const listener of this.listeners) listener(s);
  }

  /** Count again from the database (after this or another tab changed it). */
  async refresh(): Promise<QueueSnapshot> {
    const db = await this.db();
    const tx = db.transaction("queue");
    const [pending, needsAttention, first] = await Promise.all([
      tx.store.index("status").count("pending"),
      tx.store.index("status").count("needs_attention"),
      tx.store.openCursor(),
    ]);
    this.update({ pending, needsAttention, oldestCreatedAt: first?.value.created_at ?? null });
    return this.snapshot;
  }

  /** Every sale not yet synced, oldest first. */
  async list(): Promise<QueuedSale[]> {
    return (await this.db()).getAll("queue");
  }

  async count(): Promise<number> {
    return (await this.db()).count("queue");
  }

  /** How long ago the oldest unsynced sale was taken (ms), null: none. */
  async oldestAgeMs(): Promise<number | null> {
    const first = await (await this.db()).transaction("queue").store.openCursor();
    return first ? this.now() - first.value.created_at : null;
  }

  /** Queue a sale built elsewhere (takeOfflineSale queues its own, with its number). */
  async enqueue(body: OfflineSaleBody, createdAt: number = this.now()): Promise<QueuedSale> {
    const row: QueuedSale = {
      id: body.id,
      register_id: body.register_id,
      body,
      created_at: createdAt,
      status: "pending",
      attempts: 0,
      last_status: null,
      last_error: null,
      last_attempt_at: null,
    };
    row.seq = await (await this.db()).add("queue", row);
    notifyQueueChanged();
    await this.refresh();
    return row;
  }

  /** A synced sale's receipt (the server's answer), for a reprint. */
  async synced(id: string): Promise<SyncedSale | undefined> {
    return (await this.db()).get("synced", id);
  }

  async listSynced(): Promise<SyncedSale[]> {
    return (await this.db()).getAll("synced");
  }

  /** Put a sale needing attention back in line (after a manager fixed its cause). */
  async retry(id: string): Promise<boolean> {
    const db = await this.db();
    const tx = db.transaction("queue", "readwrite");
    const row = await tx.store.index("id").get(id);
    if (!row || row.status !== "needs_attention") {
      await tx.done;
      return false;
    }
    await tx.store.put({ ...row, status: "pending", attempts: 0 });
    await tx.done;
    notifyQueueChanged();
    await this.refresh();
    this.kick();
    return true;
  }

  /** May the shift close / the cashier log out? Not while sales are unsynced (of this
   * register, when given). Tries a sync first unless `syncFirst` is false. */
  async canClose(registerId?: string | null, { syncFirst = true }: { syncFirst?: boolean } = {}): Promise<CloseCheck> {
    if (syncFirst) await this.sync();
    const rows = (await this.list()).filter((r) => !registerId || r.register_id === registerId);
    const pending = rows.filter((r) => r.status === "pending").length;
    const needsAttention = rows.length - pending;
    if (!rows.length) return { ok: true, pending: 0, needsAttention: 0, message: "" };
    const parts = [pending ? `${pending} ${pending === 1 ? "sale" : "sales"} taken offline ${pending === 1 ? "is" : "are"} not synced yet` : ""];
    if (needsAttention) parts.push(`${needsAttention} ${needsAttention === 1 ? "needs" : "need"} a manager's attention`);
    const what = parts.filter(Boolean).join("; ");
    return {
      ok: false,
      pending,
      needsAttention,
      message: `${what[0].toUpperCase()}${what.slice(1)}. Keep the till open until they are synced (it syncs by itself when the services answer).`,
    };
  }

  // --- syncing ---------------------------------------------------------------------

  /** Sync now (one run at a time in this tab; other tabs: see the lock). */
  sync(): Promise<SyncReport> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Start syncing by itself: now, after each change (this or another tab), and again
   * with backoff after a failure. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (typeof BroadcastChannel !== "undefined") {
      this.channel = new BroadcastChannel(QUEUE_CHANNEL);
      // Another tab queued or synced a sale: count again, and sync it unless a run
      // or a (backoff) retry is already on its way.
      this.channel.onmessage = () => {
        void this.refresh().then(() => {
          if (this.timer === null && this.running === null) this.schedule(0);
        });
      };
    }
    void this.refresh().then(() => this.kick());
  }

  stop(): void {
    this.started = false;
    this.channel?.close();
    this.channel = null;
    this.cancelTimer();
    this.update({ nextRetryAt: null });
  }

  /** Try soon: a sale was queued, or the link is back (resets the backoff). */
  kick(): void {
    if (!this.started) return;
    this.failures = 0;
    this.schedule(0);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    if (!this.started) return;
    this.update({ nextRetryAt: this.now() + ms });
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.update({ nextRetryAt: null });
      if (!this.shouldTry()) return; // offline: connectivity kicks when it is back
      void this.sync().then((report) => this.afterRun(report));
    }, ms);
  }

  private afterRun(report: SyncReport): void {
    if (!this.started) return;
    if (report.stopped === "retry_later" && report.retryAfterMs !== undefined) {
      // The server said when: then, spread over half as long again so tills told
      // together do not come back together; not a failure, so no backoff grows.
      this.schedule(Math.round(report.retryAfterMs * (1 + 0.5 * this.random())));
    } else if (report.stopped === "unreachable" || report.stopped === "retry_later") {
      this.schedule(syncBackoffMs(this.failures++, this.random));
    } else if (report.stopped === "busy" && this.state.pending > 0) {
      this.schedule(this.busyRetryMs);
    } else if (report.stopped === null) {
      this.failures = 0;
    }
  }

  private async run(): Promise<SyncReport> {
    const db = await this.db();
    await this.refresh();
    const report = await this.withLock(db, () => this.drain(db));
    if (report === null) return { synced: 0, needsAttention: 0, stopped: "busy", error: "" };
    return report;
  }

  private async withLock(db: OfflineDb, body: () => Promise<SyncReport>): Promise<SyncReport | null> {
    if (this.locks) {
      return this.locks.request(LOCK_NAME, { ifAvailable: true }, async (lock) => (lock ? body() : null));
    }
    if (!(await this.claimLease(db))) return null;
    try {
      return await body();
    } finally {
      await this.releaseLease(db);
    }
  }

  /** The lease: whoever holds an unexpired one syncs; taken in a read-write
   * transaction, so two tabs cannot both take it. */
  private async claimLease(db: OfflineDb): Promise<boolean> {
    const tx = db.transaction("meta", "readwrite");
    const lease = (await tx.store.get(LEASE_KEY))?.value as { owner: string; until: number } | undefined;
    const now = this.now();
    if (lease && lease.owner !== this.owner && lease.until > now) {
      await tx.done;
      return false;
    }
    await tx.store.put({ key: LEASE_KEY, value: { owner: this.owner, until: now + this.leaseMs } });
    await tx.done;
    return true;
  }

  private async releaseLease(db: OfflineDb): Promise<void> {
    const tx = db.transaction("meta", "readwrite");
    const lease = (await tx.store.get(LEASE_KEY))?.value as { owner: string } | undefined;
    if (lease?.owner === this.owner) await tx.store.delete(LEASE_KEY);
    await tx.done;
  }

  private async prune(db: OfflineDb): Promise<void> {
    const tx = db.transaction("synced", "readwrite");
    let cursor = await tx.store.index("synced_at").openCursor(IDBKeyRange.upperBound(this.now() - this.keepSyncedMs));
    while (cursor) {
      await cursor.delete();
      cursor = await cursor.continue();
    }
    await tx.done;
  }

  private async drain(db: OfflineDb): Promise<SyncReport> {
    const report: SyncReport = { synced: 0, needsAttention: 0, stopped: null, error: "" };
    this.update({ syncing: true });
    try {
      await this.prune(db);
      for (;;) {
        const row = await db.getFromIndex("queue", "status", "pending");
        if (!row) break;
        if (!this.locks && !(await this.claimLease(db))) {
          report.stopped = "busy"; // our lease ran out and another tab took it
          break;
        }
        const verdict = await this.sendOne(db, row);
        if (verdict.verdict === "done") {
          report.synced += 1;
          continue;
        }
        report.error = verdict.message;
        if (verdict.verdict === "attention") {
          report.needsAttention += 1;
          continue;
        }
        report.stopped = verdict.verdict === "unreachable" ? "unreachable" : verdict.verdict === "login" ? "login" : "retry_later";
        if (verdict.retryAfterMs !== undefined) report.retryAfterMs = verdict.retryAfterMs;
        break;
      }
    } finally {
      await this.refresh();
      this.update({
        syncing: false,
        unreachable: report.stopped === "unreachable",
        lastError: report.stopped === null && !report.needsAttention ? "" : this.describe(report),
      });
    }
    return report;
  }

  private describe(report: SyncReport): string {
    switch (report.stopped) {
      case "unreachable":
        return `The services cannot be reached (${report.error}): the sales stay on this till and sync by themselves when they answer.`;
      case "login":
        return "Log in again to sync the sales taken offline (they are kept on this till).";
      case "retry_later":
        return `The server could not record an offline sale right now (${report.error}): it is kept and sent again shortly.`;
      default:
        return report.needsAttention ? `An offline sale was not accepted (${report.error}): it is kept for a manager to look at.` : "";
    }
  }

  private async sendOne(db: OfflineDb, row: QueuedSale): Promise<{ verdict: Verdict; message: string; retryAfterMs?: number }> {
    const at = this.now();
    let answer: unknown;
    try {
      answer = await this.send(row.body);
    } catch (error) {
      const { verdict, status, message, retryAfterMs } = classify(error);
      if (verdict === "unreachable") this.onReachability(false);
      else if (status) this.onReachability(true);
      const attempts = row.attempts + 1;
      const setAside = verdict === "attention" || (verdict === "retry" && status >= 500 && attempts >= this.maxServerErrors);
      await this.mark(db, row.id, {
        attempts,
        last_status: status,
        last_error: message,
        last_attempt_at: at,
        status: setAside ? "needs_attention" : "pending",
      });
      if (setAside) notifyQueueChanged();
      return { verdict: setAside ? "attention" : verdict, message, retryAfterMs };
    }
    this.onReachability(true);
    const tx = db.transaction(["queue", "synced"], "readwrite");
    const current = await tx.objectStore("queue").index("id").getKey(row.id);
    if (current !== undefined) await tx.objectStore("queue").delete(current);
    await tx.objectStore("synced").put({
      id: row.id,
      receipt_number: receiptNumberOf(answer, row.body.receipt_number),
      register_id: row.register_id,
      sold_at: row.body.sold_at,
      synced_at: this.now(),
      receipt: answer,
    });
    await tx.done;
    notifyQueueChanged();
    return { verdict: "done", message: "" };
  }

  private async mark(db: OfflineDb, id: string, patch: Partial<QueuedSale>): Promise<void> {
    const tx = db.transaction("queue", "readwrite");
    const row = await tx.store.index("id").get(id);
    if (row) await tx.store.put({ ...row, ...patch });
    await tx.done;
  }
}

/** When the till went offline, as last recorded (survives a reload), null: online. */
export async function storedOfflineSince(dbName?: string): Promise<number | null> {
  return (await readMeta<number | null>(await openOfflineDb(dbName), "offline_since")) ?? null;
}
