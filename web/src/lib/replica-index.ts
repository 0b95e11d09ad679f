// The replica's search index (issue 15, ADR 0055): what answers the word-prefix part of
// Replica.search() from memory in a few milliseconds at 300,000 products, where reading
// IndexedDB index ranges took 150-290 ms for several words (docs/performance.md).
//
// Matching and order are the catalog service's (ADR 0010, pos_catalog/search.py): a
// product matches when each word of the query starts one of its terms (the folded words
// of its name and SKU, and its barcodes); results come in the index order of the driving
// word, (matching term, sort key, id), each product once, at its first matching term.
// One word drives itself; with several, the broadest (the most index entries, counted up
// to ESTIMATE_CAP; the shortest among equals, then the query's longest-first order).
//
// Segments: the index is a list of small immutable segments, one per page of products the
// replica applied (the fill's pages of 1,000, a sync's page of changes), each built when
// its page is written (a sort of ~1,000 products and ~3,000 terms: a few milliseconds) and
// stored in IndexedDB beside the page (store "search", key = the log sequence). So
// opening the replica builds nothing: it reads the segments back (a few hundred big
// values) and splits their strings; no sort over the whole catalogue, ever. A segment:
//   ids, keys   its products in (sort key, id) order; the position is the local number
//   vocab       its distinct terms, sorted (UTF-16 order, as IndexedDB compared them)
//   offsets     vocab[t]'s products are postings[offsets[t] .. offsets[t + 1]), ascending
//               (so in (sort key, id) order)
// A later version of a product (a sync) lives in a later segment and makes the earlier
// one dead (a bitmap per segment, derived on open from which segment is the latest for
// each id). A query runs on every segment (binary searches, then that segment's first
// `limit` matches in order) and merges the segments' lists.
//
// Merging: every sync page adds a segment, and a query costs two binary searches per word
// per segment, so a till syncing all day would pile up thousands of small ones. A tail of
// MERGE_AT segments under SMALL_SEGMENT products is merged into one (each product's last
// version in the tail; an archived one kept as an entry with no terms, so it still hides
// its earlier versions), in memory here and in IndexedDB by replica.ts. A merged segment
// under SMALL_SEGMENT stays in the tail and is merged again, so the count stays at the
// fill's segments, plus one per SMALL_SEGMENT changed products, plus fewer than MERGE_AT.

/** The search data of one product version. No terms: not searchable (archived). */
export interface IndexEntry {
  id: string;
  key: string;
  terms: string[];
}

/** Index entries counted at most per word to pick the driving one (as the server). */
export const ESTIMATE_CAP = 5000;

/** Segments with fewer products than this are small; MERGE_AT of them at the end of the
 * log are merged into one. A fill page (1,000) is never small. */
export const SMALL_SEGMENT = 512;
export const MERGE_AT = 8;

/** A segment as IndexedDB stores it: strings joined by "\n" (ids, sort keys and folded
 * words never contain one), two typed arrays. A few big values: cheap to read back. */
export interface StoredSegment {
  n: number;
  ids: string;
  keys: string;
  vocab: string;
  offsets: Int32Array;
  postings: Int32Array;
}

export class Segment {
  readonly dead: Uint8Array;
  /** Scratch of a query: words matched so far, and products already returned. */
  readonly marks: Uint8Array;
  readonly taken: Uint8Array;
  constructor(
    readonly ids: string[],
    readonly keys: string[],
    readonly vocab: string[],
    readonly offsets: Int32Array,
    readonly postings: Int32Array,
  ) {
    this.dead = new Uint8Array(ids.length);
    this.marks = new Uint8Array(ids.length);
    this.taken = new Uint8Array(ids.length);
  }

  /** Sorts and indexes one page's entries (the last one wins for an id). */
  static build(entries: IndexEntry[]): Segment {
    const latest = new Map<string, IndexEntry>();
    for (const e of entries) latest.set(e.id, e);
    const list = [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const byTerm = new Map<string, number[]>();
    let total = 0;
    for (let i = 0; i < list.length; i++) {
      for (const term of list[i].terms) {
        const slots = byTerm.get(term);
        if (slots === undefined) byTerm.set(term, [i]);
        else if (slots[slots.length - 1] !== i) slots.push(i);
        else continue;
        total++;
      }
    }
    const vocab = [...byTerm.keys()].sort();
    const offsets = new Int32Array(vocab.length + 1);
    const postings = new Int32Array(total);
    let at = 0;
    for (let t = 0; t < vocab.length; t++) {
      offsets[t] = at;
      for (const i of byTerm.get(vocab[t])!) postings[at++] = i;
    }
    offsets[vocab.length] = at;
    return new Segment(
      list.map((e) => e.id),
      list.map((e) => e.key),
      vocab,
      offsets,
      postings,
    );
  }

  static load(s: StoredSegment): Segment {
    const split = (text: string) => (s.n ? text.split("\n") : []);
    return new Segment(split(s.ids), split(s.keys), s.offsets.length > 1 ? s.vocab.split("\n") : [], s.offsets, s.postings);
  }

  store(): StoredSegment {
    return { n: this.ids.length, ids: this.ids.join("\n"), keys: this.keys.join("\n"), vocab: this.vocab.join("\n"), offsets: this.offsets, postings: this.postings };
  }

  /** Its entries, in its order, each with its terms (in vocabulary order). */
  entries(): IndexEntry[] {
    const out: IndexEntry[] = this.ids.map((id, i) => ({ id, key: this.keys[i], terms: [] }));
    for (let t = 0; t < this.vocab.length; t++) for (let k = this.offsets[t]; k < this.offsets[t + 1]; k++) out[this.postings[k]].terms.push(this.vocab[t]);
    return out;
  }

  /** [from, to) of the vocabulary: the terms starting with `prefix`. */
  range(prefix: string): [number, number] {
    return [lowerBound(this.vocab, prefix), lowerBound(this.vocab, prefix + "\uffff")];
  }
}

/** Consecutive segments (in log order) as one: each product at its last version among
 * them. An archived last version (no terms) is kept so that it still hides the product's
 * earlier versions in older segments, unless `fromStart` (nothing older exists). */
export function mergeSegments(segments: Segment[], fromStart: boolean): Segment {
  const latest = new Map<string, IndexEntry>();
  for (const s of segments) for (const e of s.entries()) latest.set(e.id, e);
  const entries = [...latest.values()];
  return Segment.build(fromStart ? entries.filter((e) => e.terms.length) : entries);
}

/** How many segments at the end of `segments` are small (they merge at MERGE_AT). */
export function smallTail(sizes: number[]): number {
  let n = 0;
  while (n < sizes.length && sizes[sizes.length - 1 - n] < SMALL_SEGMENT) n++;
  return n;
}

function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a query stands in one segment: its next match, in that segment's order. */
class Cursor {
  t: number;
  k: number;
  term = "";
  key = "";
  id = "";
  constructor(
    readonly s: Segment,
    from: number,
    private readonly to: number,
    private readonly others: number,
  ) {
    this.t = from;
    this.k = s.offsets[from];
    s.taken.fill(0);
  }

  /** Moves to the next match; false when there is none. */
  next(): boolean {
    const { offsets, postings, dead, marks, taken } = this.s;
    for (; this.t < this.to; this.t++) {
      const end = offsets[this.t + 1];
      if (this.k < offsets[this.t]) this.k = offsets[this.t];
      while (this.k < end) {
        const i = postings[this.k++];
        if (dead[i] || taken[i] || (this.others && marks[i] !== this.others)) continue;
        taken[i] = 1;
        this.term = this.s.vocab[this.t];
        this.key = this.s.keys[i];
        this.id = this.s.ids[i];
        return true;
      }
    }
    return false;
  }
}

function before(a: Cursor, b: Cursor): boolean {
  if (a.term !== b.term) return a.term < b.term;
  if (a.key !== b.key) return a.key < b.key;
  return a.id < b.id;
}

function push(heap: Cursor[], c: Cursor): void {
  let i = heap.push(c) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i], heap[parent])) break;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

function sink(heap: Cursor[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && before(heap[l], heap[m])) m = l;
    if (r < heap.length && before(heap[r], heap[m])) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m], heap[i]];
    i = m;
  }
}

const LOCAL_BITS = 2 ** 24; // where: segment * LOCAL_BITS + local number

export class SearchIndex {
  /** A tail of this many small segments is merged (Infinity: never; for the benchmark). */
  constructor(private readonly mergeAt: number = MERGE_AT) {}

  private segments: Segment[] = [];
  /** id -> the segment and local number of its latest version. */
  private where = new Map<string, number>();
  /** Entries made dead by a later version (or archived). */
  deadEntries = 0;

  /** The products that can be found (their latest version has terms). */
  get size(): number {
    let n = 0;
    for (const s of this.segments) for (let i = 0; i < s.ids.length; i++) if (!s.dead[i]) n++;
    return n;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Append a segment (log order): its products' earlier versions die. A tail of
   * MERGE_AT small segments is then merged into one. */
  add(segment: Segment): void {
    this.append(segment);
    const tail = smallTail(this.segments.map((s) => s.ids.length));
    if (tail >= this.mergeAt) this.mergeTail(tail);
  }

  private mergeTail(count: number): void {
    const first = this.segments.length - count;
    const tail = this.segments.splice(first, count);
    // Forget where the tail's products were: the merged segment holds every one of them
    // (their last version), so appending it points them there and keeps older ones dead.
    for (const s of tail) {
      for (let i = 0; i < s.ids.length; i++) {
        const at = this.where.get(s.ids[i]);
        if (at !== undefined && Math.floor(at / LOCAL_BITS) >= first) this.where.delete(s.ids[i]);
        if (s.dead[i]) this.deadEntries--;
      }
    }
    this.append(mergeSegments(tail, first === 0));
  }

  private append(segment: Segment): void {
    const number = this.segments.length;
    this.segments.push(segment);
    const { ids, offsets, postings, dead } = segment;
    // A product without postings (archived) is dead from the start.
    const has = segment.taken;
    has.fill(0);
    for (let k = 0; k < offsets[offsets.length - 1]; k++) has[postings[k]] = 1;
    for (let i = 0; i < ids.length; i++) {
      const prev = this.where.get(ids[i]);
      if (prev !== undefined) {
        const old = this.segments[Math.floor(prev / LOCAL_BITS)];
        const local = prev % LOCAL_BITS;
        if (!old.dead[local]) {
          old.dead[local] = 1;
          this.deadEntries++;
        }
      }
      this.where.set(ids[i], number * LOCAL_BITS + i);
      if (!has[i]) {
        dead[i] = 1;
        this.deadEntries++;
      }
    }
  }

  /** The ids of the products matching every word (folded, distinct, longest first, as
   * the query's words()), in result order, at most `limit`, none of `skip`. */
  find(queryWords: string[], limit: number, skip: ReadonlySet<string> = new Set()): string[] {
    if (!queryWords.length || limit <= 0) return [];
    let words = queryWords.map((w, i) => ({ w, i, size: 0 }));
    if (words.length > 1) {
      for (const x of words) {
        for (let n = 0; n < this.segments.length && x.size < ESTIMATE_CAP; n++) {
          const { offsets, postings, dead } = this.segments[n];
          const [from, to] = this.segments[n].range(x.w);
          for (let k = offsets[from]; k < offsets[to] && x.size < ESTIMATE_CAP; k++) x.size += dead[postings[k]] ^ 1;
        }
      }
      if (words.some((x) => x.size === 0)) return [];
      words = [...words].sort((a, b) => b.size - a.size || a.w.length - b.w.length || a.i - b.i);
    }
    // Each segment's matches in its order (a cursor), merged through a binary heap.
    const others = words.length - 1;
    const heap: Cursor[] = [];
    for (const s of this.segments) {
      const [from, to] = s.range(words[0].w);
      if (from === to) continue;
      if (others) {
        const { offsets, postings, marks } = s;
        marks.fill(0);
        let empty = false;
        for (let j = 0; j < others && !empty; j++) {
          const [a, b] = s.range(words[j + 1].w);
          empty = a === b;
          for (let k = offsets[a]; k < offsets[b]; k++) if (marks[postings[k]] === j) marks[postings[k]] = j + 1;
        }
        if (empty) continue;
      }
      const cursor = new Cursor(s, from, to, others);
      if (cursor.next()) push(heap, cursor);
    }
    const ids: string[] = [];
    while (heap.length && ids.length < limit) {
      const top = heap[0];
      if (!skip.has(top.id)) ids.push(top.id);
      if (top.next()) sink(heap, 0);
      else {
        const last = heap.pop()!;
        if (heap.length) {
          heap[0] = last;
          sink(heap, 0);
        }
      }
    }
    return ids;
  }
}
