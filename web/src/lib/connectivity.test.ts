import "fake-indexeddb/auto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Connectivity, countsForTill, probeBackoffMs, type ConnectivityOptions } from "./connectivity";
import { OfflineQueue, postOfflineSale } from "./offlineQueue";
import { FakeLocks } from "./offlineTestKit";
import { startOfflineTill } from "./offlineStatus.svelte";

let dbCount = 0;
const freshDb = () => `connectivity-test-${++dbCount}`;

function harness(extra: ConnectivityOptions = {}) {
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  let clock = 1_000_000;
  const answers: boolean[] = [];
  const probes: number[] = [];
  const events = new EventTarget();
  const c = new Connectivity({
    probe: async () => {
      probes.push(clock);
      return answers.shift() ?? false;
    },
    now: () => clock,
    random: () => 1,
    setTimer: (fn, ms) => {
      const t = { fn, ms, cancelled: false };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => ((t as { cancelled: boolean }).cancelled = true),
    dbName: freshDb(),
    events,
    ...extra,
  });
  const live = () => timers.filter((t) => !t.cancelled);
  const fireLast = async () => {
    const t = live().at(-1)!;
    t.cancelled = true;
    clock += t.ms;
    t.fn();
    await vi.waitFor(() => expect(probes.length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 0));
  };
  return { c, timers, live, answers, probes, events, fireLast, tick: (ms: number) => (clock += ms), clock: () => clock };
}

describe("online/offline", () => {
  const stops: (() => void)[] = [];
  afterEach(() => stops.splice(0).forEach((s) => s()));

  it("goes offline on no answer or a gateway 502/503/504, not on other answers or other services", async () => {
    const h = harness();
    await h.c.start();
    stops.push(() => h.c.stop());
    h.c.report(404, "/api/sales/x");
    h.c.report(422, "/api/sales/offline");
    h.c.report(503, "/api/reports/sales/daily");
    expect(h.c.online).toBe(true);
    h.c.report(504, "/api/sales/quote");
    expect(h.c.snapshot).toMatchObject({ online: false, reason: "the services are not answering (HTTP 504)", offlineSince: 1_000_000 });
    h.tick(5000);
    h.c.report(0, "/api/catalog/products");
    expect(h.c.snapshot.offlineSince).toBe(1_000_000); // the clock keeps its start
    h.c.report(201, "/api/sales/offline");
    expect(h.c.snapshot).toMatchObject({ online: true, offlineSince: null, reason: "" });
    expect(countsForTill("/api/inventory/outlets/o/stream")).toBe(false);
  });

  it("comes back by itself: probes with capped backoff until the services answer", async () => {
    const h = harness();
    await h.c.start();
    stops.push(() => h.c.stop());
    h.c.report(502, "/api/sales/offline");
    for (let i = 0; i < 7; i++) await h.fireLast();
    expect(h.live().map((t) => t.ms)).toEqual([60_000]);
    expect(h.timers.map((t) => t.ms)).toEqual([2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    h.answers.push(true);
    await h.fireLast();
    expect(h.c.online).toBe(true);
    expect(h.live()).toHaveLength(0);
  });

  it("listens to the browser: offline at once, a probe as soon as the network is back", async () => {
    const h = harness();
    await h.c.start();
    stops.push(() => h.c.stop());
    h.events.dispatchEvent(new Event("offline"));
    expect(h.c.snapshot).toMatchObject({ online: false, reason: "this device has no network" });
    h.answers.push(true);
    h.events.dispatchEvent(new Event("online"));
    await vi.waitFor(() => expect(h.c.online).toBe(true));
    expect(h.probes).toHaveLength(1);
  });

  it("remembers when it went offline across a reload", async () => {
    const name = freshDb();
    const first = harness({ dbName: name });
    await first.c.start();
    first.c.report(0, "/api/sales/offline");
    first.c.stop();
    await new Promise((r) => setTimeout(r, 10)); // the write lands
    const second = harness({ dbName: name });
    second.tick(3_600_000);
    await second.c.start();
    stops.push(() => second.c.stop());
    expect(second.c.snapshot).toMatchObject({ online: false, offlineSince: 1_000_000 });
    expect(second.live()).toHaveLength(1); // and it probes
  });

  it("backs off from 2 s to 60 s with jitter", () => {
    expect(probeBackoffMs(0, () => 0)).toBe(1000);
    expect(probeBackoffMs(0, () => 1)).toBe(2000);
    expect(probeBackoffMs(10, () => 1)).toBe(60_000);
  });
});

describe("through the app's api helper and fetch", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("posts the sale as JSON to /api/sales/offline and maps answers to the queue's verdicts", async () => {
    const seen: { url: string; method: string; body: string }[] = [];
    const answers = [
      new Response(JSON.stringify({ detail: "service unavailable, try again" }), { status: 503 }),
      new Response(JSON.stringify({ sale_id: "a", receipt_number: "R1-OFF000001", offline: true }), { status: 201 }),
      new Response(JSON.stringify({ detail: "the tenders pay 10, the sale is 12" }), { status: 422 }),
    ];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      seen.push({ url, method: String(init.method), body: String(init.body) });
      return answers.shift()!;
    });
    const name = freshDb();
    const statuses: number[] = [];
    const q = new OfflineQueue({ dbName: name, send: postOfflineSale, locks: new FakeLocks() });
    const body = (id: string) => ({ id, outlet_id: "o", register_id: "r", receipt_number: "R1-OFF000001", sold_at: "2026-12-01T10:00:00Z", currency: "EUR", prices_include_tax: true, lines: [], total_minor: 0, tax_minor: 0, rounding_minor: 0, tenders: [], change_minor: 0 });
    await q.enqueue(body("a"));
    await q.enqueue(body("b"));
    const { observeRequests } = await import("./api");
    observeRequests((s) => statuses.push(s));
    expect(await q.sync()).toMatchObject({ stopped: "unreachable" });
    expect(await q.sync()).toMatchObject({ synced: 1, needsAttention: 1 });
    observeRequests(null);
    expect(seen.map((s) => [s.url, s.method, JSON.parse(s.body).id])).toEqual([
      ["/api/sales/offline", "POST", "a"],
      ["/api/sales/offline", "POST", "a"],
      ["/api/sales/offline", "POST", "b"],
    ]);
    expect(statuses).toEqual([503, 201, 422]);
    expect((await q.list())[0]).toMatchObject({ id: "b", status: "needs_attention", last_error: "the tenders pay 10, the sale is 12" });
  });

  it("startOfflineTill wires it: a gateway 503 takes the till offline, the probe brings it back and the queue syncs", async () => {
    let servicesUp = false;
    const posted: string[] = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit = {}) => {
      if (url === "/api/sales/healthz") return new Response("{}", { status: servicesUp ? 200 : 502 });
      if (!servicesUp) return new Response(JSON.stringify({ detail: "service unavailable, try again" }), { status: 503 });
      posted.push(JSON.parse(String(init.body)).id);
      return new Response(JSON.stringify({ receipt_number: "R1-OFF000001" }), { status: 201 });
    });
    const name = freshDb();
    const { offlineStatus } = await import("./offlineStatus.svelte");
    const till = startOfflineTill({
      queue: { dbName: name, locks: new FakeLocks(), random: () => 0 },
      connectivity: { dbName: name, random: () => 0, events: null },
    });
    try {
      const { api } = await import("./api");
      await expect(api("/api/sales/quote", { method: "POST", body: {} })).rejects.toMatchObject({ status: 503 });
      expect(offlineStatus.online).toBe(false);
      await till.queue.enqueue({ id: "s1", outlet_id: "o", register_id: "r", receipt_number: "R1-OFF000001", sold_at: "2026-12-01T10:00:00Z", currency: "EUR", prices_include_tax: true, lines: [], total_minor: 0, tax_minor: 0, rounding_minor: 0, tenders: [], change_minor: 0 });
      await vi.waitFor(() => expect(offlineStatus.pending).toBe(1));
      expect(await till.canClose("r")).toMatchObject({ ok: false, pending: 1 });
      servicesUp = true;
      await till.connectivity.probeNow();
      await vi.waitFor(() => expect(offlineStatus.pending).toBe(0), { timeout: 3000 });
      expect(offlineStatus.online).toBe(true);
      expect(posted).toEqual(["s1"]);
      expect(await till.canClose("r")).toMatchObject({ ok: true });
    } finally {
      till.stop();
    }
  });
});
