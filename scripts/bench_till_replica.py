"""The till's catalogue replica in Chromium at 300,000 products (issue 15).

Serves, from one separate process, a fake changes feed speaking the JSON of
GET /api/catalog/changes (ADR 0015: categories, then products, cursors `c1.<seq>`) for
N realistic products, and the bench page of the web app (web/bench/replica.html, built
with `vite build --mode bench` into web/dist-bench; never part of the production build)
on the same origin. Then, in Debian's Chromium (on-disk profile, as a till's), for each
run: fill the replica from nothing (lib/replica.ts, as the till runs it), the IndexedDB
storage used (navigator.storage.estimate()), a reopen of the filled replica (what a
reload costs before the first scan), and p50/p95 of lookupBarcode and search over a few
hundred queries. Prints each run and the medians.

Run it only under the shared heavy lock:

    flock /tmp/pos-heavy.lock .venv/bin/python scripts/bench_till_replica.py --products 300000 --runs 3

The fake feed answers from memory (pages cached after the first run), so the fill time
is the browser's: fetch, JSON parse, IndexedDB writes. The real service's page times are
in docs/performance.md, "Catalog changes feed".
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from pos_platform.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
DIST = WEB / "dist-bench"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OUTLET = "bench-outlet"

BRANDS = [
    "Alder",
    "Birchwood",
    "Coastal",
    "Dunmore",
    "Elmfield",
    "Fernhill",
    "Glenarm",
    "Harbour",
    "Ironbridge",
    "Juniper",
    "Kestrel",
    "Lakeside",
    "Meadowbrook",
    "Northgate",
    "Oakridge",
    "Pennant",
    "Quayside",
    "Riverside",
    "Stonecroft",
    "Thornbury",
    "Upland",
    "Valebrook",
    "Westfield",
    "Yarrow",
    "Zephyr",
    "Brûlé",
    "Crémerie",
    "Café&Co",
    "Château",
    "Naïve",
    "Señora",
    "Öko",
]
NOUNS = [
    "milk",
    "bread",
    "tea",
    "coffee",
    "beans",
    "butter",
    "cheese",
    "yoghurt",
    "juice",
    "water",
    "cola",
    "lemonade",
    "crisps",
    "biscuits",
    "cookies",
    "chocolate",
    "pasta",
    "rice",
    "flour",
    "sugar",
    "salt",
    "pepper",
    "oil",
    "vinegar",
    "ketchup",
    "mayonnaise",
    "mustard",
    "soup",
    "beans",
    "tomatoes",
    "peas",
    "sweetcorn",
    "tuna",
    "salmon",
    "chicken",
    "ham",
    "bacon",
    "sausages",
    "eggs",
    "apples",
    "bananas",
    "oranges",
    "grapes",
    "lemons",
    "onions",
    "potatoes",
    "carrots",
    "lettuce",
    "cucumber",
    "peppers",
    "mushrooms",
    "garlic",
    "ginger",
    "honey",
    "jam",
    "marmalade",
    "cereal",
    "oats",
    "granola",
    "muesli",
    "crackers",
    "shampoo",
    "conditioner",
    "soap",
    "toothpaste",
    "detergent",
    "sponge",
    "foil",
    "bags",
    "candles",
    "batteries",
    "matches",
    "napkins",
    "tissues",
    "nappies",
    "wipes",
    "vitamins",
    "plasters",
    "paracetamol",
    "croissant",
    "baguette",
    "muffin",
    "brownie",
    "tart",
    "pie",
    "pizza",
    "lasagne",
    "curry",
    "noodles",
    "dumplings",
    "sushi",
    "hummus",
    "olives",
    "pesto",
    "salsa",
    "tortilla",
    "wraps",
    "bagels",
    "scones",
]
ADJECTIVES = [
    "organic",
    "free-range",
    "wholemeal",
    "semi-skimmed",
    "skimmed",
    "unsalted",
    "salted",
    "smoked",
    "roasted",
    "spicy",
    "mild",
    "extra-virgin",
    "sparkling",
    "still",
    "light",
    "dark",
    "crunchy",
    "smooth",
    "creamy",
    "fresh",
    "frozen",
    "dried",
    "sweet",
    "sour",
    "crème",
    "brûlée",
    "barista",
    "classic",
    "premium",
    "value",
    "family",
    "mini",
]
SIZES = ["100 g", "250 g", "500 g", "1 kg", "330 ml", "500 ml", "1 L", "2 L", "6 pack", "12 pack", "x4", "x10", ""]


def ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body12)))
    return body12 + str((10 - total % 10) % 10)


def make_catalogue(count: int, seed: int = 15) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    categories = [
        {"id": f"cat-{i:04d}", "name": f"{rng.choice(NOUNS).title()} {i}", "parent_id": None if i < 40 else f"cat-{i % 40:04d}"}
        for i in range(200)
    ]
    products = []
    for n in range(count):
        brand = rng.choice(BRANDS)
        noun = rng.choice(NOUNS)
        words = [brand]
        if rng.random() < 0.6:
            words.append(rng.choice(ADJECTIVES))
        words.append(noun)
        size = rng.choice(SIZES)
        if size:
            words.append(size)
        codes = [ean13(f"2{n:011d}")]
        if rng.random() < 0.1:
            codes.append(ean13(f"4{n:011d}"))
        own_price = rng.random() < 0.05
        products.append(
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "sku": f"{brand[:3].upper()}-{noun[:3].upper()}-{n:06d}",
                "name": " ".join(words),
                "barcodes": codes,
                "category_id": categories[n % len(categories)]["id"],
                "price_minor": rng.randrange(49, 4999),
                "outlet_price": own_price,
                "currency": "EUR",
                "tax_class": rng.choice(["standard", "reduced", "zero"]),
                "unit": "weight" if rng.random() < 0.03 else "each",
                "active": rng.random() > 0.02,
            }
        )
    return categories, products


def serve(port: int, count: int, dist: Path = DIST) -> None:
    """The fake feed and the bench page (its own process)."""
    categories, products = make_catalogue(count)
    entries: list[tuple[str, dict[str, Any]]] = [("c", c) for c in categories] + [("p", p) for p in products]
    top = len(entries)  # change_seq of entries[i] is i + 1
    cache: dict[tuple[int, int], bytes] = {}
    lock = threading.Lock()

    def page(after: int, limit: int) -> bytes:
        with lock:
            body = cache.get((after, limit))
        if body is None:
            taken = entries[after : after + limit]
            more = after + limit < top
            last = after + len(taken) if more else top
            body = json.dumps(
                {
                    "outlet_id": OUTLET,
                    "products": [e for k, e in taken if k == "p"],
                    "categories": [e for k, e in taken if k == "c"],
                    "deleted_categories": [],
                    "next_cursor": f"c1.{last}",
                    "more": more,
                },
                separators=(",", ":"),
            ).encode()
            with lock:
                cache[(after, limit)] = body
        return body

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(dist), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/api/catalog/changes":
                super().do_GET()
                return
            query = parse_qs(url.query)
            cursor = query.get("cursor", [""])[0]
            limit = int(query.get("limit", ["1000"])[0])
            after = 0
            if cursor:
                try:
                    after = int(cursor.removeprefix("c1."))
                except ValueError:
                    after = -1
                if not 0 <= after <= top:
                    self.send_response(422)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"detail":"cursor: refill"}')
                    return
            body = page(after, limit)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def queries(count: int, n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """Barcodes to scan (most known, a few unknown) and texts to search, as a cashier
    types them: word prefixes, two words, whole SKUs."""
    _categories, products = make_catalogue(count)
    rng = random.Random(seed)
    codes = [rng.choice(rng.choice(products)["barcodes"]) for _ in range(n - n // 20)]
    codes += [ean13(f"9{rng.randrange(10**11):011d}") for _ in range(n // 20)]
    rng.shuffle(codes)
    texts = []
    for i in range(n):
        p = rng.choice(products)
        words = p["name"].split()
        kind = i % 4
        if kind == 0:
            texts.append(words[-1 if len(words) < 3 else 1][: rng.randint(2, 5)])  # a word's first letters
        elif kind == 1:
            texts.append(f"{words[0]} {words[-1] if not words[-1][0].isdigit() else words[1]}"[: rng.randint(6, 14)])
        elif kind == 2:
            texts.append(p["sku"])
        else:
            texts.append(" ".join(w[:3] for w in words[:2]))
    return codes, texts


def run_once(base: str, limit: int, codes: list[str], texts: list[str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="replica-bench-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = context.new_page()
            page.goto(f"{base}/bench/replica.html")
            page.wait_for_function("() => window.replicaBench !== undefined")
            fill = page.evaluate("limit => window.replicaBench.fill(limit)", limit)
            storage = page.evaluate("() => window.replicaBench.storage()")
            page.reload()  # what a till's reload costs before the first scan
            page.wait_for_function("() => window.replicaBench !== undefined")
            cdp = context.new_cdp_session(page)

            def heap() -> float:
                # The JS heap after a full GC (Chromium's own figure, not the quantised
                # performance.memory).
                cdp.send("HeapProfiler.collectGarbage")
                return float(cdp.send("Runtime.getHeapUsage")["usedSize"])

            heap_before = heap()
            reopen = page.evaluate("([c, t]) => window.replicaBench.reopen(c, t)", [codes[0], texts[0]])
            heap_open = heap()  # the replica open, its search index read back
            measured = page.evaluate("([c, t]) => window.replicaBench.measure(c, t)", [codes, texts])
        finally:
            context.close()
    return {"fill": fill, "storage": storage, "reopen": reopen, "heapMiB": (heap_open - heap_before) / 2**20, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=300_000)
    parser.add_argument("--limit", type=int, default=1000, help="entries per page of the fill (1-5000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=300, help="scans and searches each")
    parser.add_argument("--no-build", action="store_true", help="use web/dist-bench as it is")
    parser.add_argument(
        "--before",
        type=Path,
        help="another build of the bench page (e.g. the previous replica's, built with "
        "`vite build --mode bench --outDir DIR`): each run measures it, then this one, back to back",
    )
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["npx", "vite", "build", "--mode", "bench", "--logLevel", "warn"], cwd=WEB, check=True)
    codes, texts = queries(args.products, args.queries)
    import httpx

    servers = []
    bases: dict[str, str] = {}
    for label, dist in ([("before", args.before)] if args.before else []) + [("after" if args.before else "this", DIST)]:
        port = free_port()
        server = Process(target=serve, args=(port, args.products, dist), daemon=True)
        server.start()
        servers.append(server)
        bases[label] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{bases[label]}/bench/replica.html", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not server.is_alive():
                sys.exit("the fake feed did not start")
            time.sleep(0.2)

    print(f"{args.products:,} products, fill pages of {args.limit}, {len(codes)} scans and {len(texts)} searches per run")
    all_runs: dict[str, list[dict[str, Any]]] = {label: [] for label in bases}
    try:
        for n in range(args.runs):
            for label, base in bases.items():
                runs = all_runs[label]
                r = run_once(base, args.limit, codes, texts)
                runs.append(r)
                f, s, o = r["fill"], r["storage"], r["reopen"]
                o.setdefault("indexMs", o["loadMs"])
                print(
                    f"{label} run {n + 1}: fill {f['ms'] / 1000:.1f} s (fetch+parse {f['fetchMs'] / 1000:.1f} s, {f['pages']} pages, {f['products']:,} products, {f['categories']} categories; main thread held up p95 {f['lagP95']:.0f} ms, max {f['lagMax']:.0f} ms); "
                    f"storage {s['usage'] / 2**20:.0f} MiB (IndexedDB {(s['indexedDB'] or 0) / 2**20:.0f} MiB); "
                    f"reopen {o['loadMs']:.0f} ms, search index read back {o['indexMs']:.0f} ms, JS heap +{r['heapMiB']:.1f} MiB; first scan {o['firstScanMs']:.1f} ms, first search {o['firstSearchMs']:.1f} ms; "
                    f"scan p50 {r['scan']['p50']:.2f} p95 {r['scan']['p95']:.2f} max {r['scan']['max']:.1f} ms ({r['scan']['found']} found); "
                    f"search p50 {r['search']['p50']:.2f} p95 {r['search']['p95']:.2f} max {r['search']['max']:.1f} ms ({r['search']['found']} with results)",
                    flush=True,
                )
                kinds = ("one word prefix", "brand + word", "a whole SKU", "two 3-letter prefixes")
                for k, kind in enumerate(kinds):
                    samples = sorted(r["searchSamples"][k::4])
                    r.setdefault("kinds", {})[kind] = (samples[len(samples) // 2], samples[int(0.95 * (len(samples) - 1))])
                    print(f"    search, {kind}: p50 {r['kinds'][kind][0]:.1f} ms, p95 {r['kinds'][kind][1]:.1f} ms", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.join(5)

    for label, runs in all_runs.items():
        summary(label, runs)


def summary(label: str, runs: list[dict[str, Any]]) -> None:
    def med(get: Any) -> float:
        return statistics.median(get(r) for r in runs)

    print(f"{label}: median of {len(runs)} runs:")
    print(f"  fill: {med(lambda r: r['fill']['ms']) / 1000:.1f} s")
    print(
        f"  main thread held up while filling: p95 {med(lambda r: r['fill']['lagP95']):.0f} ms, max {med(lambda r: r['fill']['lagMax']):.0f} ms"
    )
    print(f"  storage (navigator.storage.estimate usage): {med(lambda r: r['storage']['usage']) / 2**20:.0f} MiB")
    print(f"  reopen a filled replica (open + counts): {med(lambda r: r['reopen']['loadMs']):.0f} ms")
    print(f"  ... and its search index read back (from the same start): {med(lambda r: r['reopen']['indexMs']):.0f} ms")
    print(f"  JS heap of the open replica (after a GC): {med(lambda r: r['heapMiB']):.1f} MiB")
    print(
        f"  first scan after reopen: {med(lambda r: r['reopen']['firstScanMs']):.1f} ms, first search: {med(lambda r: r['reopen']['firstSearchMs']):.1f} ms"
    )
    print(f"  lookupBarcode p50 {med(lambda r: r['scan']['p50']):.2f} ms, p95 {med(lambda r: r['scan']['p95']):.2f} ms")
    for kind in runs[0]["kinds"]:
        print(
            f"    {kind}: p50 {med(lambda r, k=kind: r['kinds'][k][0]):.1f} ms, p95 {med(lambda r, k=kind: r['kinds'][k][1]):.1f} ms"
        )
    print(f"  search(text, 24) p50 {med(lambda r: r['search']['p50']):.2f} ms, p95 {med(lambda r: r['search']['p95']):.2f} ms")


if __name__ == "__main__":
    main()
