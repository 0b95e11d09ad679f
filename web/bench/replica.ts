// The page scripts/bench_till_replica.py drives: lib/replica.ts as the till uses it,
// on window for the benchmark. Built only by `vite build --mode bench` (dist-bench/).
import { httpTransport, Replica } from "../src/lib/replica";

interface Timing {
  p50: number;
  p95: number;
  max: number;
  n: number;
  found: number;
}

function percentiles(samples: number[], found: number): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1], n: sorted.length, found };
}

const OUTLET = "bench-outlet";
let held: Replica | null = null;

const bench = {
  /** Fill from nothing: ms, pages, products stored. */
  async fill(limit: number) {
    let pages = 0;
    let fetchMs = 0; // fetch + JSON parse, the rest of the fill is IndexedDB and indexing
    const fetchOnce = httpTransport();
    const replica = new Replica({
      outletId: OUTLET,
      fillLimit: limit,
      pollMs: 0,
      transport: async (r) => {
        pages++;
        const t = performance.now();
        const page = await fetchOnce(r);
        fetchMs += performance.now() - t;
        return page;
      },
    });
    // How long the page's main thread is held up while filling (what a cashier typing
    // meanwhile would feel): the worst lateness of a 10 ms timer, and the p95.
    const lags: number[] = [];
    let expected = performance.now() + 10;
    const ticker = setInterval(() => {
      const now = performance.now();
      lags.push(Math.max(0, now - expected));
      expected = now + 10;
    }, 10);
    const t0 = performance.now();
    await replica.syncNow();
    const ms = performance.now() - t0;
    clearInterval(ticker);
    lags.sort((a, b) => a - b);
    const lagMax = lags[lags.length - 1] ?? 0;
    const lagP95 = lags[Math.floor(0.95 * (lags.length - 1))] ?? 0;
    const state = replica.snapshot;
    await replica.close();
    return { ms, pages, products: state.products, categories: state.categories, lagMax, lagP95, fetchMs };
  },

  /** A filled replica opened again (a reload): open + load() (counts), the search index
   * read back (from the same start), then the first scan and search, each timed. The
   * replica stays open (window.benchReplica) for measure() and the heap figure. */
  async reopen(code: string, text: string) {
    const t0 = performance.now();
    const replica = new Replica({ outletId: OUTLET, transport: httpTransport(), pollMs: 0 });
    const state = await replica.load();
    const loadMs = performance.now() - t0;
    await replica.searchIndex();
    const indexMs = performance.now() - t0;
    const t1 = performance.now();
    const scanned = await replica.lookupBarcode(code);
    const firstScanMs = performance.now() - t1;
    const t2 = performance.now();
    await replica.search(text, 24);
    const firstSearchMs = performance.now() - t2;
    held = replica;
    return { loadMs, indexMs, firstScanMs, firstSearchMs, filled: state.filled, products: state.products, scanned: scanned?.id ?? null };
  },

  async measure(codes: string[], texts: string[]) {
    const replica = held ?? new Replica({ outletId: OUTLET, transport: httpTransport(), pollMs: 0 });
    held = null;
    await replica.load();
    const scan: number[] = [];
    let scanFound = 0;
    for (const code of codes) {
      const t0 = performance.now();
      const p = await replica.lookupBarcode(code);
      scan.push(performance.now() - t0);
      if (p) scanFound++;
    }
    const search: number[] = [];
    let searchFound = 0;
    for (const text of texts) {
      const t0 = performance.now();
      const found = await replica.search(text, 24);
      search.push(performance.now() - t0);
      if (found.length) searchFound++;
    }
    await replica.close();
    return { scan: percentiles(scan, scanFound), search: percentiles(search, searchFound), searchSamples: search };
  },

  async storage() {
    const estimate = (await navigator.storage.estimate()) as StorageEstimate & { usageDetails?: Record<string, number> };
    return { usage: estimate.usage ?? 0, indexedDB: estimate.usageDetails?.indexedDB ?? null, quota: estimate.quota ?? 0 };
  },
};

declare global {
  interface Window {
    replicaBench: typeof bench;
  }
}
window.replicaBench = bench;
document.getElementById("state")!.textContent = "ready";
