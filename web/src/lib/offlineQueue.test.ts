import "fake-indexeddb/auto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { closeOfflineDb, openOfflineDb, type OfflineSaleBody } from "./offlineDb";
import { OfflineQueue, syncBackoffMs, type QueueOptions } from "./offlineQueue";
import { FakeLocks, FakeServer } from "./offlineTestKit";
import { newId } from "./uuid";

let dbCount = 0;
const freshDb = () => `offline-queue-test-${++dbCount}`;
const T0 = Date.parse("2026-12-01T10:00:00Z");

function sale(n: number, register = "reg-1"): OfflineSaleBody {
  return {
    id: newId(),
    outlet_id: "outlet-1",
    register_id: register,
    receipt_number: `R1-OFF${String(n).padStart(6, "0")}`,
    sold_at: new Date(T0 + n * 1000).toISOString(),
    currency: "EUR",
    prices_include_tax: true,
    lines: [{ product_id: "mug", sku: "MUG", name: "Mug", qty: 1, unit_price_minor: 1000 + n, discount_minor: 0, tax_rate_bp: 2000, tax_minor: 167, total_minor: 1000 + n }],
    total_minor: 1000 + n,
    tax_minor: 167,
    rounding_minor: 0,
    tenders: [{ kind: "cash", amount_minor: 1000 + n, tendered_minor: 1000 + n }],
    change_minor: 0,
  };
}

const queues: OfflineQueue[] = [];
function queue(name: string, server: FakeServer, extra: QueueOptions = {}): OfflineQueue {
  const q = new OfflineQueue({ dbName: name, send: server.send, locks: new FakeLocks(), now: () => T0 + 60_000, random: () => 0.5, ...extra });
  queues.push(q);
  return q;
}

async function fill(q: OfflineQueue, n: number, register = "reg-1"): Promise<OfflineSaleBody[]> {
  const bodies = [];
  for (let i = 1; i <= n; i++) {
    const b = sale(i, register);
    await q.enqueue(b, T0 + i * 1000);
    bodies.push(b);
  }
  return bodies;
}

afterEach(() => {
  for (const q of queues.splice(0)) q.stop();
});

describe("the offline queue", () => {
  it("is durable: counts, the oldest age, and a reload finds every sale", async () => {
    const name = freshDb();
    const server = new FakeServer();
    const q = queue(name, server);
    const bodies = await fill(q, 3);
    expect(await q.count()).toBe(3);
    expect(await q.oldestAgeMs()).toBe(59_000);
    expect(q.snapshot).toMatchObject({ pending: 3, needsAttention: 0, oldestCreatedAt: T0 + 1000 });
    await closeOfflineDb(name); // reload: a new module state, the same database
    vi.resetModules();
    const fresh = await import("./offlineQueue");
    const again = new fresh.OfflineQueue({ dbName: name, send: server.send, locks: null, now: () => T0 });
    queues.push(again);
    expect((await again.list()).map((r) => r.id)).toEqual(bodies.map((b) => b.id));
    expect(await again.sync()).toMatchObject({ synced: 3, stopped: null });
    expect(server.calls).toEqual(bodies.map((b) => b.id));
  });

  it("syncs oldest first, one at a time, and keeps each receipt for reprints", async () => {
    const server = new FakeServer();
    server.delayMs = 2;
    const q = queue(freshDb(), server);
    const bodies = await fill(q, 5);
    const report = await q.sync();
    expect(report).toEqual({ synced: 5, needsAttention: 0, stopped: null, error: "" });
    expect(server.calls).toEqual(bodies.map((b) => b.id));
    expect(server.maxInFlight).toBe(1);
    expect(await q.count()).toBe(0);
    expect(q.snapshot).toMatchObject({ pending: 0, oldestCreatedAt: null, syncing: false, lastError: "", unreachable: false });
    const kept = await q.synced(bodies[2].id);
    expect(kept).toMatchObject({ receipt_number: "R1-OFF000003", receipt: { offline: true, sale_id: bodies[2].id } });
  });

  it("records a sale exactly once when the answer is lost: the same id is sent again", async () => {
    const server = new FakeServer();
    server.plan = ["lost"];
    const q = queue(freshDb(), server);
    const [first, second] = await fill(q, 2);
    const cut = await q.sync();
    expect(cut.stopped).toBe("unreachable");
    expect(server.recorded.size).toBe(1); // the server has it ...
    expect(await q.count()).toBe(2); // ... the till does not know yet
    expect(q.snapshot.unreachable).toBe(true);
    expect(q.snapshot.lastError).toMatch(/cannot be reached/);
    expect((await q.list())[0]).toMatchObject({ id: first.id, attempts: 1, last_status: 0, status: "pending" });
    expect(await q.sync()).toMatchObject({ synced: 2, stopped: null });
    expect(server.calls).toEqual([first.id, first.id, second.id]);
    expect([...server.recorded.keys()]).toEqual([first.id, second.id]);
    expect(await q.count()).toBe(0);
  });

  it("stops at 502/503/504 and no answer, keeping the order for later", async () => {
    for (const how of ["down", "gateway"] as const) {
      const server = new FakeServer();
      server.plan = ["ok", how];
      const q = queue(freshDb(), server);
      const bodies = await fill(q, 3);
      expect(await q.sync()).toMatchObject({ synced: 1, stopped: "unreachable" });
      expect(server.calls).toEqual([bodies[0].id, bodies[1].id]);
      expect((await q.list()).map((r) => r.id)).toEqual([bodies[1].id, bodies[2].id]);
    }
  });

  it("keeps a refused sale as needs_attention with the server's words and goes on", async () => {
    const server = new FakeServer();
    const q = queue(freshDb(), server);
    const bodies = await fill(q, 3);
    server.byId.set(bodies[0].id, "refuse");
    server.byId.set(bodies[1].id, "conflict");
    const report = await q.sync();
    expect(report).toMatchObject({ synced: 1, needsAttention: 2, stopped: null });
    const kept = await q.list();
    expect(kept.map((r) => [r.id, r.status, r.last_status])).toEqual([
      [bodies[0].id, "needs_attention", 422],
      [bodies[1].id, "needs_attention", 409],
    ]);
    expect(kept[0].last_error).toMatch(/is not price x qty/);
    expect(q.snapshot).toMatchObject({ pending: 0, needsAttention: 2 });
    expect(q.snapshot.lastError).toMatch(/kept for a manager/);
    // Never dropped: syncing again leaves them; a manager's retry sends it again.
    expect(await q.sync()).toMatchObject({ synced: 0 });
    expect(await q.count()).toBe(2);
    server.byId.delete(bodies[0].id);
    expect(await q.retry(bodies[0].id)).toBe(true);
    expect(await q.sync()).toMatchObject({ synced: 1 });
    expect((await q.list()).map((r) => r.id)).toEqual([bodies[1].id]);
  });

  it("retries a server error later, and sets a sale aside after repeated 5xx", async () => {
    const server = new FakeServer();
    const q = queue(freshDb(), server, { maxServerErrors: 3 });
    const [bad, good] = await fill(q, 2);
    server.byId.set(bad.id, "error500");
    expect(await q.sync()).toMatchObject({ synced: 0, stopped: "retry_later" });
    expect(await q.sync()).toMatchObject({ synced: 0, stopped: "retry_later" });
    expect(await q.sync()).toMatchObject({ synced: 1, needsAttention: 1, stopped: null });
    expect(server.calls).toEqual([bad.id, bad.id, bad.id, good.id]);
    expect((await q.list())[0]).toMatchObject({ id: bad.id, status: "needs_attention", attempts: 3 });
  });

  it("waits for a new log-in on 401, dropping nothing", async () => {
    const server = new FakeServer();
    server.plan = ["login"];
    const q = queue(freshDb(), server);
    await fill(q, 2);
    expect(await q.sync()).toMatchObject({ stopped: "login", synced: 0 });
    expect(q.snapshot.lastError).toMatch(/Log in again/);
    expect(await q.list()).toHaveLength(2);
    expect((await q.list()).every((r) => r.status === "pending")).toBe(true);
  });

  it("two tabs syncing one queue never send at the same time, nor a sale twice (Web Locks)", async () => {
    const name = freshDb();
    const server = new FakeServer();
    server.delayMs = 3;
    const locks = new FakeLocks();
    const tabA = queue(name, server, { locks });
    const tabB = queue(name, server, { locks });
    const bodies = await fill(tabA, 6);
    const [a, b] = await Promise.all([tabA.sync(), tabB.sync()]);
    expect([a.stopped, b.stopped].sort()).toEqual(["busy", null].sort());
    expect(a.synced + b.synced).toBe(6);
    expect(server.maxInFlight).toBe(1);
    expect(server.calls).toEqual(bodies.map((x) => x.id));
  });

  it("two tabs without Web Locks share an IndexedDB lease instead", async () => {
    const name = freshDb();
    const server = new FakeServer();
    server.delayMs = 3;
    let clock = T0;
    const tabA = queue(name, server, { locks: null, now: () => clock });
    const tabB = queue(name, server, { locks: null, now: () => clock });
    const bodies = await fill(tabA, 6);
    const [a, b] = await Promise.all([tabA.sync(), tabB.sync(), tabA.sync()]);
    expect(a.synced + b.synced).toBe(6);
    expect(server.maxInFlight).toBe(1);
    expect(server.calls).toEqual(bodies.map((x) => x.id));
    // A tab that died holding the lease: after it expires another tab syncs.
    const db = await openOfflineDb(name);
    await db.put("meta", { key: "sync_lease", value: { owner: "dead-tab", until: clock + 60_000 } });
    await fill(tabA, 1);
    expect(await tabB.sync()).toMatchObject({ stopped: "busy", synced: 0 });
    clock += 61_000;
    expect(await tabB.sync()).toMatchObject({ stopped: null, synced: 1 });
  });

  it("prunes kept receipts after the given days", async () => {
    const server = new FakeServer();
    let clock = T0;
    const q = queue(freshDb(), server, { now: () => clock, keepSyncedDays: 7 });
    const [old] = await fill(q, 1);
    await q.sync();
    clock += 3 * 86_400_000;
    const [recent] = await fill(q, 1);
    await q.sync();
    clock += 5 * 86_400_000;
    await q.sync();
    expect(await q.synced(old.id)).toBeUndefined();
    expect(await q.synced(recent.id)).toBeDefined();
  });

  it("refuses to close the shift or log out while sales are unsynced, with the count", async () => {
    const server = new FakeServer();
    server.plan = ["down"];
    const q = queue(freshDb(), server);
    const bodies = await fill(q, 2);
    await fill(q, 1, "reg-2");
    server.byId.set(bodies[1].id, "refuse");
    const check = await q.canClose("reg-1", { syncFirst: false });
    expect(check).toMatchObject({ ok: false, pending: 2, needsAttention: 0 });
    expect(check.message).toBe("2 sales taken offline are not synced yet. Keep the till open until they are synced (it syncs by itself when the services answer).");
    const afterTry = await q.canClose("reg-1"); // tries a sync first: down, then one refused
    expect(afterTry).toMatchObject({ ok: false, pending: 2 });
    const last = await q.canClose(null);
    expect(last).toMatchObject({ ok: false, pending: 0, needsAttention: 1 });
    expect(last.message).toMatch(/^1 needs a manager's attention/);
    expect(await q.canClose("reg-2")).toMatchObject({ ok: true });
  });

  it("waits as long as a busy server's Retry-After asks, staying online, without growing its backoff", async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const server = new FakeServer();
    server.plan = ["busy", "busy", "busy"];
    const q = queue(freshDb(), server, { setTimer: (fn, ms) => timers.push({ fn, ms }), clearTimer: () => {} });
    const [first] = await fill(q, 2);
    expect(await q.sync()).toMatchObject({ synced: 0, stopped: "retry_later", retryAfterMs: 5000 });
    expect(q.snapshot).toMatchObject({ pending: 2, unreachable: false });
    expect(q.snapshot.lastError).toMatch(/busy with the tills selling now/);
    expect((await q.list())[0]).toMatchObject({ id: first.id, status: "pending", last_status: 429 });
    q.start();
    await vi.waitFor(() => expect(timers).toHaveLength(1));
    const fire = async (n: number) => {
      timers[n].fn();
      await vi.waitFor(() => expect(timers.length).toBeGreaterThan(n + 1));
    };
    await fire(0);
    await fire(1);
    // 5 s and a quarter (random 0.5 of half as long again) each time: no doubling
    expect(timers.map((t) => t.ms)).toEqual([0, 6250, 6250]);
    timers[2].fn();
    await vi.waitFor(() => expect(q.snapshot.pending).toBe(0));
    expect(server.recorded.size).toBe(2);
    expect((await q.list()).length).toBe(0);
  });

  it("retries by itself with capped, jittered backoff, and syncs when kicked", async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const server = new FakeServer();
    server.plan = ["down", "down", "down"];
    const q = queue(freshDb(), server, { setTimer: (fn, ms) => timers.push({ fn, ms }), clearTimer: () => {} });
    await fill(q, 1);
    q.start();
    await vi.waitFor(() => expect(timers).toHaveLength(1));
    expect(timers[0].ms).toBe(0);
    const fire = async (n: number) => {
      timers[n].fn();
      await vi.waitFor(() => expect(timers.length).toBeGreaterThan(n + 1));
    };
    await fire(0);
    await fire(1);
    await fire(2);
    expect(timers.map((t) => t.ms)).toEqual([0, 750, 1500, 3000]);
    timers[3].fn();
    await vi.waitFor(() => expect(q.snapshot.pending).toBe(0));
    expect(server.recorded.size).toBe(1);
  });
});

describe("the sync backoff", () => {
  it("doubles from 1 s with jitter and caps at 60 s", () => {
    expect(syncBackoffMs(0, () => 0)).toBe(500);
    expect(syncBackoffMs(0, () => 1)).toBe(1000);
    expect(syncBackoffMs(3, () => 1)).toBe(8000);
    expect(syncBackoffMs(6, () => 1)).toBe(60_000);
    expect(syncBackoffMs(50, () => 1)).toBe(60_000);
    expect(syncBackoffMs(50, () => 0)).toBe(30_000);
  });
});
