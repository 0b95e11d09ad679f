import { describe, expect, it } from "vitest";
import { MERGE_AT, SearchIndex, Segment, SMALL_SEGMENT, type IndexEntry } from "./replica-index";

const WORDS = ["oat", "oatmeal", "milk", "mild", "mint", "tea", "teal", "creme", "bar", "barista", "b", "1", "10", "l"];

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => (s = (s * 16807) % 2147483647) % n;
}

function entry(rnd: (n: number) => number, id: string, archived: boolean): IndexEntry {
  const words = Array.from({ length: 1 + rnd(3) }, () => WORDS[rnd(WORDS.length)]);
  return { id, key: words.join(" "), terms: archived ? [] : [...new Set(words)] };
}

/** The same products as one freshly built segment: no history, nothing merged. */
function reference(live: Map<string, IndexEntry>): SearchIndex {
  const index = new SearchIndex();
  index.add(Segment.build([...live.values()]));
  return index;
}

const QUERIES = [["oat"], ["o"], ["mi"], ["teal", "t"], ["barista", "b"], ["1"], ["creme", "oat"], ["zzz"], ["milk", "m"]];

describe("search index segments merged as a till syncs all day (ADR 0055)", () => {
  it("a tail of small sync segments is merged, and every query answers as a fresh index of the same products", () => {
    const rnd = rng(11);
    const index = new SearchIndex();
    const live = new Map<string, IndexEntry>(); // what the catalogue holds now (archived: no terms)
    // The fill: two full pages.
    for (let page = 0; page < 2; page++) {
      const entries = Array.from({ length: SMALL_SEGMENT + 100 }, (_, i) => entry(rnd, `p-${page * 1000 + i}`, false));
      for (const e of entries) live.set(e.id, e);
      index.add(Segment.build(entries));
    }
    // A day of syncs: 1 to 5 changed products each (renames, archives, restores, new ones).
    let most = 0;
    for (let sync = 0; sync < 400; sync++) {
      const page: IndexEntry[] = [];
      for (let k = 0, n = 1 + rnd(5); k < n; k++) {
        const id = rnd(10) === 0 ? `new-${sync}-${k}` : `p-${rnd(2) * 1000 + rnd(SMALL_SEGMENT + 100)}`;
        const e = entry(rnd, id, rnd(6) === 0);
        page.push(e);
        live.set(id, e);
      }
      index.add(Segment.build(page));
      most = Math.max(most, index.segmentCount);
      if (sync % 37 === 0 || sync === 399) {
        const fresh = reference(live);
        for (const q of QUERIES) expect(index.find(q, 40), `${q} after sync ${sync}`).toEqual(fresh.find(q, 40));
        expect(index.size).toBe(fresh.size);
      }
    }
    // 400 syncs made 400 segments; merged, the fill's two and fewer than MERGE_AT small
    // ones plus one per SMALL_SEGMENT changes.
    expect(most).toBeLessThanOrEqual(2 + MERGE_AT + Math.ceil((400 * 5) / SMALL_SEGMENT));
    expect(index.segmentCount).toBeLessThan(2 + MERGE_AT + 4);
  });

  it("an archived product stays hidden when the segment that archived it is merged, and returns when restored", () => {
    const index = new SearchIndex();
    const fill = Array.from({ length: SMALL_SEGMENT }, (_, i) => ({ id: `p-${i}`, key: `oat ${i}`, terms: ["oat", String(i)] }));
    index.add(Segment.build(fill));
    index.add(Segment.build([{ id: "p-7", key: "oat 7", terms: [] }])); // archived
    for (let i = 0; i < MERGE_AT * 3; i++) index.add(Segment.build([{ id: `x-${i}`, key: `tea ${i}`, terms: ["tea"] }]));
    expect(index.segmentCount).toBeLessThan(1 + MERGE_AT);
    expect(index.find(["7"], 50)).not.toContain("p-7");
    expect(index.find(["oat"], SMALL_SEGMENT)).toHaveLength(SMALL_SEGMENT - 1);
    index.add(Segment.build([{ id: "p-7", key: "oat 7", terms: ["oat", "7"] }])); // restored
    expect(index.find(["7"], 1)).toEqual(["p-7"]);
    expect(index.size).toBe(SMALL_SEGMENT + MERGE_AT * 3);
  });
});
