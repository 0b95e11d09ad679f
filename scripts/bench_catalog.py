#!/usr/bin/env python3
"""Catalog benchmark: barcode lookup and product search through the nginx gateway on a
catalogue of 300,000 products; prints median, p90, p99 and max per kind.

    .venv/bin/python scripts/bench_catalog.py                       # own stack, 300k products
    .venv/bin/python scripts/bench_catalog.py --keep                # leave that stack running
    .venv/bin/python scripts/bench_catalog.py --base-url http://127.0.0.1:8080 \\
        --credentials var/stack/admin-credentials.txt --catalog-db mysql+pymysql://root@127.0.0.1:3306/pos_catalog

Without --base-url it starts its own local stack (scripts/stack.py, state in
var/bench-stack, gateway on --stack-port, databases pos_bench_*, vhost pos_bench) and
stops it at the end unless --keep.

Seeding (skipped when the catalogue already holds --products products):
- `--seed direct` (default): the catalog's own CSV import code (pos_catalog.imports,
  the code behind POST /api/catalog/imports: validation, search terms, barcodes, one
  transaction) run in this process against the catalog database, with publish=False:
  no ProductCreated events, because 300,000 events through three consumers would keep
  this 2-core machine busy for many minutes and is not what is measured here.
- `--seed api`: the same CSV uploaded through the gateway in parts of --part-rows rows
  (the gateway accepts 10 MB per request), polling each import job; events published.

Measurement: --requests requests per kind after --warmup, from --concurrency
concurrent clients (each its own keep-alive connection), every request a fresh random
barcode or query: barcodes of random products (GET /api/catalog/barcodes/{code}), and
queries made of one or two word prefixes (2-6 letters) of random product names
(GET /api/catalog/search?q=...&limit=20). Latency is measured by the client, so it
includes nginx, the service and the database.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]

BRANDS = [
    "Acme",
    "Alpine",
    "Aurora",
    "Baltic",
    "Bellavista",
    "Blue Bay",
    "Bramble",
    "Cascade",
    "Cedar",
    "Cobalt",
    "Coral",
    "Crescent",
    "Delta",
    "Dune",
    "Elm",
    "Emerald",
    "Falcon",
    "Fjord",
    "Golden",
    "Granite",
    "Harbor",
    "Heather",
    "Highland",
    "Horizon",
    "Ivory",
    "Juniper",
    "Kestrel",
    "Lagoon",
    "Linden",
    "Lotus",
    "Maple",
    "Meadow",
    "Mistral",
    "Nordic",
    "Oak",
    "Orchid",
    "Pacific",
    "Pebble",
    "Pinecrest",
    "Prairie",
    "Quarry",
    "Raven",
    "Ridge",
    "Saffron",
    "Sierra",
    "Solstice",
    "Summit",
    "Tundra",
    "Valley",
    "Willow",
]
ADJECTIVES = [
    "organic",
    "classic",
    "smoked",
    "roasted",
    "fresh",
    "crispy",
    "creamy",
    "spicy",
    "sweet",
    "salted",
    "unsalted",
    "light",
    "dark",
    "whole",
    "sliced",
    "ground",
    "frozen",
    "dried",
    "wild",
    "mild",
    "extra",
    "premium",
    "natural",
    "rustic",
    "golden",
    "tender",
    "zesty",
    "tangy",
    "rich",
    "pure",
    "fine",
    "coarse",
    "green",
    "red",
    "black",
    "white",
    "baby",
    "large",
    "mini",
    "family",
]
NOUNS = [
    "almonds",
    "apples",
    "apricots",
    "bagels",
    "bananas",
    "basil",
    "beans",
    "biscuits",
    "bread",
    "broccoli",
    "brownies",
    "butter",
    "cabbage",
    "cake",
    "carrots",
    "cashews",
    "cereal",
    "cheddar",
    "cheese",
    "cherries",
    "chicken",
    "chickpeas",
    "chili",
    "chips",
    "chocolate",
    "chorizo",
    "cider",
    "cinnamon",
    "coffee",
    "cookies",
    "corn",
    "couscous",
    "crackers",
    "cream",
    "croissants",
    "cucumber",
    "dates",
    "dressing",
    "espresso",
    "figs",
    "flour",
    "garlic",
    "ginger",
    "granola",
    "grapes",
    "ham",
    "hazelnuts",
    "honey",
    "hummus",
    "jam",
    "juice",
    "ketchup",
    "kiwis",
    "lemonade",
    "lemons",
    "lentils",
    "lettuce",
    "limes",
    "macaroni",
    "mango",
    "margarine",
    "mayonnaise",
    "milk",
    "mints",
    "muesli",
    "muffins",
    "mushrooms",
    "mustard",
    "noodles",
    "oats",
    "olives",
    "onions",
    "oranges",
    "oregano",
    "paprika",
    "pasta",
    "peaches",
    "peanuts",
    "pears",
    "peas",
    "pecans",
    "pepper",
    "pesto",
    "pickles",
    "pineapple",
    "pistachios",
    "pizza",
    "plums",
    "popcorn",
    "potatoes",
    "pretzels",
    "prunes",
    "pudding",
    "quinoa",
    "raisins",
    "ravioli",
    "rice",
    "risotto",
    "rolls",
    "salami",
    "salmon",
    "salsa",
    "sardines",
    "sausages",
    "soda",
    "soup",
    "spaghetti",
    "spinach",
    "strawberries",
    "sugar",
    "tea",
    "toffee",
    "tofu",
    "tomatoes",
    "tortillas",
    "tuna",
    "vinegar",
    "waffles",
    "walnuts",
    "water",
    "yogurt",
]
SIZES = [
    "100 g",
    "150 g",
    "200 g",
    "250 g",
    "330 ml",
    "400 g",
    "500 g",
    "500 ml",
    "750 ml",
    "1 kg",
    "1 l",
    "1.5 l",
    "2 kg",
    "6 pack",
    "12 pack",
]
CATEGORIES = ["Food > Pantry", "Food > Fresh", "Food > Frozen", "Drinks > Hot", "Drinks > Cold", "Snacks", "Bakery", "Dairy"]


def ean13(n: int) -> str:
    body = f"20{n:010d}"  # GS1 prefix 20-29: in-store numbering, never a real product
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def product(n: int) -> tuple[str, int, str]:
    """Name, price and category of product number n (the same on every run)."""
    rng = random.Random(n)
    name = f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(SIZES)}"
    return name, rng.randint(49, 4999), rng.choice(CATEGORIES)


def catalogue_csv(count: int, start: int = 0) -> bytes:
    """CSV text of products start..start+count."""
    lines = ["sku,name,barcodes,category,price_minor,cost_minor,tax_class,unit"]
    for n in range(start, start + count):
        name, price, category = product(n)
        lines.append(f"BN-{n:07d},{name},{ean13(n)},{category},{price},{price * 6 // 10},standard,each")
    return ("\n".join(lines) + "\n").encode()


def query_for(name: str, rng: random.Random) -> str:
    # What a cashier types: the start (3-6 letters) of one or two words of the name.
    words = [w for w in name.lower().split() if w.isalpha() and len(w) >= 3]
    picked = rng.sample(words, 2) if len(words) >= 2 and rng.random() < 0.4 else [rng.choice(words)]
    return " ".join(w[: rng.randint(3, 6)] for w in picked)


# --- stack -------------------------------------------------------------------------------


@dataclass
class Target:
    base_url: str
    credentials: Path
    catalog_db: str


def stack_args(port: int) -> list[str]:
    return [
        "--state-dir",
        str(ROOT / "var" / "bench-stack"),
        "--gateway-port",
        str(port),
        "--port-base",
        str(port + 20),
        "--db-prefix",
        "pos_bench_",
        "--vhost",
        "pos_bench",
    ]


def stack(command: str, port: int, *extra: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), command, *stack_args(port), *extra], check=True)


def login(base_url: str, credentials: Path) -> str:
    fields = dict(line.split(": ", 1) for line in credentials.read_text().splitlines() if ": " in line)
    response = httpx.post(
        f"{base_url}/api/identity/login", json={"email": fields["email"], "password": fields["password"]}, timeout=30
    )
    response.raise_for_status()
    return response.json()["access_token"]


# --- seeding -----------------------------------------------------------------------------


def existing_products(base_url: str, token: str) -> int:
    response = httpx.get(
        f"{base_url}/api/catalog/products",
        params={"limit": 1, "include_archived": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["total"]


def seed_direct(target: Target, count: int, have: int) -> None:
    from pos_catalog.imports import ImportJobs
    from pos_catalog.tables import metadata
    from pos_platform.db import Database

    db = Database(target.catalog_db, metadata, "catalog", pool_size=2)
    jobs = ImportJobs(db, "EUR")
    part = 50_000
    for start in range(have, count, part):
        data = catalogue_csv(min(part, count - start), start)
        began = time.perf_counter()
        job = jobs.run_now(data, actor="bench", publish=False)
        if job.status != "done":
            raise SystemExit(f"seeding failed: {job.message} {job.errors[:5]}")
        print(f"  seeded {start + job.created:>7} products ({job.created} in {time.perf_counter() - began:.1f} s)", flush=True)
    db.dispose()


def seed_api(base_url: str, token: str, count: int, have: int, part_rows: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as http:
        for start in range(have, count, part_rows):
            data = catalogue_csv(min(part_rows, count - start), start)
            began = time.perf_counter()
            started = http.post("/api/catalog/imports", content=data, headers={"Content-Type": "text/csv"})
            started.raise_for_status()
            while True:
                job = http.get(started.headers["location"]).json()
                if job["status"] in ("done", "failed"):
                    break
                time.sleep(0.5)
            if job["status"] != "done":
                raise SystemExit(f"import failed: {job['message']} {job['errors'][:5]}")
            print(
                f"  imported {start + job['created']:>7} products ({job['created']} in {time.perf_counter() - began:.1f} s)",
                flush=True,
            )


# --- measuring ---------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank: p99 of 100 samples is the 99th, not the slowest."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def measure(base_url: str, token: str, paths: list[str], concurrency: int) -> tuple[list[float], float, int]:
    """Latencies (ms) of GET `paths`, the wall time, and the count of non-200 answers."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    latencies: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30
        ) as http:
            while not queue.empty():
                path = queue.get_nowait()
                began = time.perf_counter()
                response = await http.get(path)
                latencies.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    failures += 1

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began, failures


def report(kind: str, latencies: list[float], wall: float, failures: int, concurrency: int, target_ms: float) -> str:
    p50, p90, p99 = statistics.median(latencies), percentile(latencies, 90), percentile(latencies, 99)
    verdict = "OK" if p99 < target_ms else "MISSED"
    return (
        f"{kind:8} c={concurrency:<3} n={len(latencies):<6} median {p50:6.2f} ms  p90 {p90:6.2f} ms  p99 {p99:6.2f} ms  "
        f"max {max(latencies):7.2f} ms  {len(latencies) / wall:7.0f} req/s  non-200: {failures}  "
        f"(target p99 < {target_ms:.0f} ms: {verdict})"
    )


def run(target: Target, args: argparse.Namespace) -> int:
    token = login(target.base_url, target.credentials)
    have = existing_products(target.base_url, token)
    print(f"catalogue: {have} products; wanted {args.products}", flush=True)
    if have < args.products:
        began = time.perf_counter()
        if args.seed == "direct":
            seed_direct(target, args.products, have)
        else:
            seed_api(target.base_url, token, args.products, have, args.part_rows)
        print(f"seeding took {time.perf_counter() - began:.1f} s", flush=True)
    rng = random.Random(args.random_seed)
    total = max(have, args.products)
    picks = [rng.randrange(total) for _ in range(args.requests + args.warmup)]
    barcode_paths = [f"/api/catalog/barcodes/{ean13(n)}" for n in picks]
    search_paths = [f"/api/catalog/search?limit=20&q={quote(query_for(product(n)[0], rng))}" for n in picks]
    load = os.getloadavg()
    print(f"load average before measuring: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores shared)", flush=True)
    lines = []
    for concurrency in args.concurrency:
        for kind, paths, target_ms in (("barcode", barcode_paths, 20.0), ("search", search_paths, 50.0)):
            asyncio.run(measure(target.base_url, token, paths[: args.warmup], concurrency))
            latencies, wall, failures = asyncio.run(measure(target.base_url, token, paths[args.warmup :], concurrency))
            line = report(kind, latencies, wall, failures, concurrency, target_ms)
            print(line, flush=True)
            lines.append(line)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per kind and concurrency")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seed", choices=["direct", "api"], default="direct")
    parser.add_argument("--part-rows", type=int, default=40_000, help="rows per uploaded part with --seed api")
    parser.add_argument("--random-seed", type=int, default=11)
    parser.add_argument("--base-url", help="an already running gateway (otherwise a stack of its own is started)")
    parser.add_argument("--credentials", type=Path, help="admin-credentials.txt of that stack")
    parser.add_argument("--catalog-db", help="its catalog database URL (for --seed direct)")
    parser.add_argument("--stack-port", type=int, default=39080)
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's own stack running")
    args = parser.parse_args()
    if args.base_url:
        if not args.credentials:
            parser.error("--base-url needs --credentials")
        if args.seed == "direct" and not args.catalog_db:
            parser.error("--seed direct needs --catalog-db with --base-url")
        return run(Target(args.base_url.rstrip("/"), args.credentials, args.catalog_db or ""), args)
    state = ROOT / "var" / "bench-stack"
    stack("down", args.stack_port)
    # --fresh only when asked to reseed: a kept stack keeps its 300,000 products.
    stack("up", args.stack_port)
    try:
        target = Target(
            f"http://127.0.0.1:{args.stack_port}",
            state / "admin-credentials.txt",
            "mysql+pymysql://root@127.0.0.1:3306/pos_bench_catalog",
        )
        return run(target, args)
    finally:
        if not args.keep:
            stack("down", args.stack_port)


if __name__ == "__main__":
    sys.exit(main())
