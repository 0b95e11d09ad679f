#!/usr/bin/env python3
"""Benchmark of the tills' replica feed (GET /api/catalog/changes, issue 15, ADR 0015):
a full fill of one outlet's replica from a catalogue of 300,000 products, and an
incremental sync after 1,000 changed products.

    flock /tmp/pos-heavy.lock .venv/bin/python scripts/bench_catalog_changes.py
    # options: --products 300000 --runs 3 --limits 1000,5000 --keep-db --db-url mysql+pymysql://root@127.0.0.1:3306/NAME

What it does:
1. Creates a fresh MariaDB database (127.0.0.1:3306, root, no password, named
   pos_bench_changes_<random>; dropped at the end unless --keep-db), migrates it to
   0005 and bulk-inserts the catalogue with multi-row INSERTs: 40 categories (8 with 4
   subcategories each), --products products (one EAN-13 each, a second one for 1 in 10),
   outlet prices for 5 % of the products at outlet A and 5 % at outlet B. The search
   index is not built (the feed never reads it; scripts/bench_catalog.py measures search).
2. Migrates to head: migration 0006 numbers the existing catalogue (timed: that is what
   an upgrade of a big catalogue costs).
3. Starts the real service (`uvicorn pos_catalog.main:app`, one process, in-process bus)
   on a free port and talks to it over HTTP (httpx, one keep-alive connection, as a
   cashier of outlet A), uncompressed: the gzip sizes are computed from the bodies at
   level 1 (what the gateway's nginx uses: gzip_comp_level's default) and level 6.
4. Per run and per --limits value: a full fill from no cursor (wall time, pages, bytes,
   page latency p50/p95), checked to hold every product; then 1,000 changes through the
   API (900 price/name changes, 50 archives, 25 outlet prices set, 25 removed) and an
   incremental sync from the fill's cursor (wall time, bytes, entries), checked to bring
   exactly those 1,000 products.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pymysql

from pos_platform.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
OUTLET_A, OUTLET_B = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
WORDS = [
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
    "coffee",
    "tea",
    "almonds",
    "apples",
    "bread",
    "butter",
    "cheese",
    "chocolate",
    "cookies",
    "honey",
    "juice",
    "milk",
    "pasta",
    "rice",
]


def ean13(n: int) -> str:
    body = f"20{n:010d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# --- the database ------------------------------------------------------------------------


def seed(db: str, count: int) -> tuple[list[str], list[str]]:
    """Bulk-insert the catalogue (schema at 0005); the product ids, and those with a
    price of outlet A's own."""
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=db, autocommit=False)
    rng = random.Random(15)
    now = datetime(2026, 12, 1)
    cats: list[tuple[str, str, str | None, datetime]] = []
    for top in range(8):
        parent = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        cats.append((parent, f"Department {top}", None, now))
        cats += [(str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"Aisle {top}.{sub}", parent, now) for sub in range(4)]
    ids: list[str] = []
    own_price: list[str] = []
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO categories (id, name, parent_id, created_at) VALUES (%s, %s, %s, %s)", cats)
        for start in range(0, count, 5000):
            rows, codes = [], []
            for n in range(start, min(count, start + 5000)):
                pid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                ids.append(pid)
                mine = [ean13(n)] + ([ean13(10_000_000 + n)] if n % 10 == 0 else [])
                name = (
                    f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice([100, 250, 500, 1000])} g"
                )
                rows.append(
                    (
                        pid,
                        f"BN-{n:07d}",
                        name,
                        "",
                        rng.choice(cats)[0],
                        rng.randint(49, 4999),
                        0,
                        "EUR",
                        rng.choice(["standard", "reduced", "zero"]),
                        "each",
                        1,
                        now,
                        now,
                        "|".join(sorted(mine)),
                    )
                )
                codes += [(c, pid) for c in mine]
            cur.executemany(
                "INSERT INTO products (id, sku, name, description, category_id, price_minor, cost_minor, currency, tax_class, unit, active, "
                "created_at, updated_at, barcode_list) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
            cur.executemany("INSERT INTO barcodes (code, product_id) VALUES (%s, %s)", codes)
            conn.commit()
        for outlet in (OUTLET_A, OUTLET_B):
            chosen = rng.sample(ids, count // 20)
            if outlet == OUTLET_A:
                own_price = chosen
            cur.executemany(
                "INSERT INTO price_overrides (product_id, outlet_id, price_minor, updated_at) VALUES (%s, %s, %s, %s)",
                [(pid, outlet, rng.randint(10, 999), now) for pid in chosen],
            )
        conn.commit()
    conn.close()
    return ids, own_price


def table_sizes(db: str) -> str:
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=db)
    with conn.cursor() as cur:
        for table in ("products", "catalog_changes", "barcodes", "price_overrides"):
            cur.execute(f"ANALYZE TABLE {table}")  # information_schema's figures are stale after bulk inserts
            cur.fetchall()
        cur.execute(
            "SELECT table_name, table_rows, ROUND(data_length/1048576), ROUND(index_length/1048576) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name IN ('products', 'catalog_changes', 'barcodes', 'price_overrides')",
            (db,),
        )
        found = cur.fetchall()
    conn.close()
    return ", ".join(f"{name} ~{rows} rows {data} MB + {index} MB index" for name, rows, data, index in found)


# --- the service -------------------------------------------------------------------------


def start_service(url: str, public_key: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POS_DATABASE_URL": url,
        "POS_JWT_PUBLIC_KEY_FILE": str(public_key),
        "POS_BUS": "inprocess",
        "POS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "pos_catalog.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the catalog service did not start")


# --- measuring ---------------------------------------------------------------------------


def fill(http: httpx.Client, limit: int, cursor: str | None = None) -> dict[str, object]:
    latencies: list[float] = []
    products: dict[str, dict[str, object]] = {}
    bodies: list[bytes] = []
    began = time.perf_counter()
    while True:
        params: dict[str, object] = {"outlet_id": OUTLET_A, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        t = time.perf_counter()
        response = http.get("/api/catalog/changes", params=params)
        latencies.append((time.perf_counter() - t) * 1000)
        response.raise_for_status()
        bodies.append(response.content)
        page = response.json()
        for p in page["products"]:
            products[p["id"]] = p
        cursor = page["next_cursor"]
        if not page["more"]:
            break
    seconds = time.perf_counter() - began
    # Compressed sizes after the clock stopped (the gateway compresses, not this client).
    raw = sum(len(b) for b in bodies)
    gz1 = sum(len(gzip.compress(b, 1)) for b in bodies)
    gz6 = sum(len(gzip.compress(b, 6)) for b in bodies)
    return {
        "seconds": seconds,
        "pages": len(latencies),
        "bytes": raw,
        "gzip1": gz1,
        "gzip6": gz6,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "products": products,
        "cursor": cursor,
    }


def change_products(http: httpx.Client, manager: dict[str, str], ids: list[str], run: int) -> set[str]:
    """1,000 changes through the API; the products changed."""
    for i, pid in enumerate(ids):
        if i < 900:
            response = http.put(
                f"/api/catalog/products/{pid}",
                json={"price_minor": 5000 + run * 1000 + i, "name": f"Changed {run} {i}"},
                headers=manager,
            )
        elif i < 950:
            response = http.delete(f"/api/catalog/products/{pid}", headers=manager)
        elif i < 975:
            response = http.put(f"/api/catalog/products/{pid}/prices/{OUTLET_A}", json={"price_minor": 11 + i}, headers=manager)
        else:
            response = http.delete(f"/api/catalog/products/{pid}/prices/{OUTLET_A}", headers=manager)
        if response.status_code not in (200, 204):
            raise SystemExit(f"change failed: {response.status_code} {response.text}")
    return set(ids)


def mb(n: float) -> str:
    return f"{n / 1_000_000:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limits", default="1000,5000")
    parser.add_argument("--keep-db", action="store_true", help="leave the database (its name is printed)")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT / p) for p in ("services/catalog", "libs/platform", "libs/contracts")]
    from pos_platform.keys import ensure_keypair
    from pos_platform.migrate import upgrade
    from pos_platform.testing import mint_token

    name = f"pos_bench_changes_{uuid.uuid4().hex[:8]}"
    url = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    service = None
    try:
        print(f"database {name}; load average {os.getloadavg()[0]:.1f}", flush=True)
        upgrade("catalog", url, "0005")
        began = time.perf_counter()
        ids, own_price = seed(name, args.products)
        print(f"seeded {len(ids)} products in {time.perf_counter() - began:.0f} s", flush=True)
        began = time.perf_counter()
        upgrade("catalog", url)
        print(f"migration 0006 (numbering the catalogue): {time.perf_counter() - began:.1f} s", flush=True)
        print(table_sizes(name), flush=True)
        keys = Path(tempfile.mkdtemp(prefix="bench-changes-"))
        ensure_keypair(str(keys / "private.pem"), str(keys / "public.pem"))
        port = free_port()
        service = start_service(url, keys / "public.pem", port)
        cashier = {
            "Authorization": f"Bearer {mint_token(keys / 'private.pem', 'cashier', [OUTLET_A])}",
            "Accept-Encoding": "identity",
        }
        manager = {"Authorization": f"Bearer {mint_token(keys / 'private.pem', 'manager', [OUTLET_A])}"}
        rng = random.Random(7)
        archived: set[str] = set()
        print(
            "transport: uvicorn (one process) over HTTP on 127.0.0.1, httpx client, one keep-alive connection, uncompressed",
            flush=True,
        )
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=cashier, timeout=120) as http:
            fill(http, 1000)  # warm-up: the buffer pool and the process
            for run in range(1, args.runs + 1):
                for limit in (int(x) for x in args.limits.split(",")):
                    result = fill(http, limit)
                    assert len(result["products"]) == len(ids), (len(result["products"]), len(ids))
                    print(
                        f"run {run} limit {limit}: fill {result['seconds']:.1f} s, {result['pages']} pages, {mb(result['bytes'])} "
                        f"(gzip -1 {mb(result['gzip1'])}, -6 {mb(result['gzip6'])}), page p50 {result['p50']:.0f} ms p95 {result['p95']:.0f} ms",
                        flush=True,
                    )
                # 975 products at random; the 25 outlet prices removed are ones A has.
                # (never one archived in an earlier run: archiving it again changes nothing).
                removed = rng.sample(own_price, 25)
                changed = rng.sample(sorted(set(ids) - set(removed) - archived), 975) + removed
                archived.update(changed[900:950])
                own_price = [p for p in own_price if p not in removed]
                began = time.perf_counter()
                change_products(http, manager, changed, run)
                writing = time.perf_counter() - began
                sync = fill(http, 1000, result["cursor"])
                got = set(sync["products"])
                assert got == set(changed), (len(got), len(got & set(changed)))
                print(
                    f"run {run} incremental: 1,000 changes written in {writing:.1f} s; sync {sync['seconds'] * 1000:.0f} ms, {sync['pages']} pages, "
                    f"{len(got)} products, {mb(sync['bytes'])} (gzip -1 {mb(sync['gzip1'])})",
                    flush=True,
                )
    finally:
        if service is not None:
            service.terminate()
            service.wait(10)
        if args.keep_db:
            print(f"kept database {name}")
        else:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


if __name__ == "__main__":
    main()
