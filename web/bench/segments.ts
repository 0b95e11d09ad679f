// How a day of syncs weighs on the till replica's in-memory search (ADR 0055), with and
// without merging small segments: run by `npx vite-node bench/segments.ts` (in web/).
// 300,000 products in fill segments of 1,000, then SYNCS sync pages of 1-5 changed
// products (renames, 1 in 8 archived), as a till polling every 30 s with a busy back
// office would write them. Measured: applying the syncs, search p50/p95 over a fixed mix
// of queries, the segment count, and re-reading the index from its stored form (what a
// reload costs: every segment's load() and add()). Merging on and off alternate, three
// runs each; the figures are medians. Node, not Chromium: the same JS engine (V8), no
// IndexedDB (bench_till_replica.py measures that part).
import { MERGE_AT, SearchIndex, Segment, type IndexEntry } from "../src/lib/replica-index";
import { fold, words } from "../src/lib/replica";

const PRODUCTS = Number(process.env.PRODUCTS ?? 300_000);
const SYNCS = Number(process.env.SYNCS ?? 3_000);
const RUNS = Number(process.env.RUNS ?? 3);
const BRANDS = ["Alder", "Birch", "Cedar", "Dune", "Elm", "Fjord", "Gale", "Heath", "Isle", "Juniper", "Kelp", "Larch", "Moor", "Nook", "Oak", "Pine"];
const ADJ = ["organic", "fresh", "smoked", "wholegrain", "crème", "light", "spicy", "sweet"];
const NOUNS = ["milk", "bread", "tea", "coffee", "beans", "crisps", "tart", "yoghurt", "cheese", "butter", "honey", "jam", "rice", "pasta", "soup", "juice"];

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => (s = (s * 16807) % 2147483647) % n;
}

function entry(rnd: (n: number) => number, n: number, archived = false): IndexEntry {
  const name = `${BRANDS[rnd(BRANDS.length)]} ${rnd(2) ? ADJ[rnd(ADJ.length)] + " " : ""}${NOUNS[rnd(NOUNS.length)]} ${1 + rnd(999)} g`;
  const sku = `${BRANDS[n % BRANDS.length].slice(0, 3)}-${String(n).padStart(6, "0")}`;
  const barcode = String(2000000000000 + n * 7);
  return { id: `p-${n}`, key: words(name).join(" ").slice(0, 24), terms: archived ? [] : [...new Set([...words(name), ...words(sku), barcode])] };
}

const QUERIES = ["mil", "alder mi", "bir org", "ced", "smoked te", "oak-000123", "jun swe ja", "hea", "crem", "pine light b"].map((q) => [...new Set(words(fold(q)))].sort((a, b) => b.length - a.length));

function pct(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

function run(mergeAt: number) {
  const rnd = rng(42);
  const index = new SearchIndex(mergeAt);
  for (let from = 0; from < PRODUCTS; from += 1000) {
    const page: IndexEntry[] = [];
    for (let n = from; n < Math.min(PRODUCTS, from + 1000); n++) page.push(entry(rnd, n));
    index.add(Segment.build(page));
  }
  const t0 = performance.now();
  for (let s = 0; s < SYNCS; s++) {
    const page: IndexEntry[] = [];
    for (let k = 0, m = 1 + rnd(5); k < m; k++) page.push(entry(rnd, rnd(PRODUCTS), rnd(8) === 0));
    index.add(Segment.build(page));
  }
  const applyMs = performance.now() - t0;
  const samples: number[] = [];
  for (let round = 0; round < 30; round++) {
    for (const q of QUERIES) {
      const t = performance.now();
      index.find(q, 24);
      samples.push(performance.now() - t);
    }
  }
  // A reload: every stored segment read back and indexed.
  const stored = (index as unknown as { segments: Segment[] }).segments.map((s) => s.store());
  const t1 = performance.now();
  const reopened = new SearchIndex(mergeAt);
  for (const s of stored) reopened.add(Segment.load(s));
  const reopenMs = performance.now() - t1;
  return { segments: index.segmentCount, applyMs, p50: pct(samples, 0.5), p95: pct(samples, 0.95), reopenMs };
}

const results: Record<string, ReturnType<typeof run>[]> = { off: [], on: [] };
for (let r = 0; r < RUNS; r++) {
  for (const mode of r % 2 ? ["on", "off"] : ["off", "on"]) {
    const got = run(mode === "on" ? MERGE_AT : Infinity);
    results[mode].push(got);
    console.log(`run ${r + 1} merging ${mode}: ${JSON.stringify(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${PRODUCTS} products, ${SYNCS} sync pages, medians of ${RUNS}:`);
console.log("| | merging off | merging on | on / off |\n|---|---:|---:|---:|");
for (const [label, key] of [
  ["segments", "segments"],
  ["applying the syncs, ms", "applyMs"],
  ["search p50, ms", "p50"],
  ["search p95, ms", "p95"],
  ["re-reading the index (reload), ms", "reopenMs"],
] as const) {
  const off = median(results.off.map((x) => x[key]));
  const on = median(results.on.map((x) => x[key]));
  console.log(`| ${label} | ${off.toFixed(1)} | ${on.toFixed(1)} | ${(on / off).toFixed(2)} |`);
}
