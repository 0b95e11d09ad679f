#!/usr/bin/env python3
"""Latency of every report endpoint through the gateway: median and p99.

    .venv/bin/python scripts/bench_reports.py --base-url http://127.0.0.1:19080 \\
        --credentials var/test-stack-i7/admin-credentials.txt

Run it against a stack whose reports database holds a year of history
(scripts/seed_reports.py); see docs/performance.md, "Reports". Logs in once as the
admin (every outlet), then for each endpoint: --warmup requests, then --requests
requests one after the other on one keep-alive connection, each timed from sending
to the last byte of the body. The ranges end on --end (default: yesterday, the
seed's last day) and cover --days days (default 30: the target is p99 < 100 ms for
30 days over all outlets); the stock reports are as of now (days of cover on the
velocity the service refreshes, over the 28 days ending today). A few extra rows (one
outlet; 365 days; a velocity window the refresh does not cover) are for context.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx


def percentile(samples: list[float], q: float) -> float:
    """Nearest rank: the smallest sample with at least q % of the samples at or below it
    (p99 of 100 samples is the 99th, not the slowest)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def slid(params: dict[str, object], i: int, slide: int) -> dict[str, object]:
    """The range moved back by i mod slide days (the stock reports have no range)."""
    back = timedelta(days=i % slide)
    if back and "date_from" in params:
        moved = {k: (date.fromisoformat(str(params[k])) - back).isoformat() for k in ("date_from", "date_to")}
        return params | moved
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--credentials", type=Path, help="admin-credentials.txt of the stack (email: / password: lines)")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--end", type=date.fromisoformat, default=datetime.now(UTC).date() - timedelta(days=1))
    parser.add_argument("--target-ms", type=float, default=100.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", help="only endpoints whose label contains this")
    parser.add_argument(
        "--slide",
        type=int,
        default=1,
        help="request i's range ends i mod SLIDE days before --end (same length): every alignment of the range, not one",
    )
    args = parser.parse_args(argv)

    email, password = args.email, args.password
    if args.credentials:
        fields = dict(line.split(": ", 1) for line in args.credentials.read_text().splitlines() if ": " in line)
        email, password = email or fields["email"], password or fields["password"]
    if not email or not password:
        parser.error("give --credentials or --email and --password")

    start = args.end - timedelta(days=args.days - 1)
    span = {"date_from": start.isoformat(), "date_to": args.end.isoformat()}
    year = {"date_from": (args.end - timedelta(days=364)).isoformat(), "date_to": args.end.isoformat()}
    with httpx.Client(base_url=args.base_url, timeout=30) as http:
        login = http.post("/api/identity/login", json={"email": email, "password": password})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        outlets = http.get("/api/reports/sales/outlets", params=span).json()["rows"]
        if not outlets:
            print("no sales in the range: seed the reports database first (scripts/seed_reports.py)", file=sys.stderr)
            return 2
        one = max(outlets, key=lambda r: r["gross_minor"])["outlet_id"]
        cases: list[tuple[str, str, dict[str, object], bool]] = [
            ("sales/daily (day x outlet)", "/api/reports/sales/daily", span, True),
            ("sales/daily by=day", "/api/reports/sales/daily", span | {"by": "day"}, True),
            ("sales/hourly", "/api/reports/sales/hourly", span, True),
            ("sales/hourly by=day_hour", "/api/reports/sales/hourly", span | {"by": "day_hour"}, True),
            ("sales/items top 50", "/api/reports/sales/items", span, True),
            ("sales/items bottom 50 by qty", "/api/reports/sales/items", span | {"sort": "qty", "order": "asc"}, True),
            ("sales/items top 50 by margin", "/api/reports/sales/items", span | {"sort": "margin"}, True),
            ("sales/categories", "/api/reports/sales/categories", span, True),
            ("sales/cashiers", "/api/reports/sales/cashiers", span, True),
            ("sales/cashiers by=register", "/api/reports/sales/cashiers", span | {"by": "register"}, True),
            ("sales/tenders", "/api/reports/sales/tenders", span, True),
            ("sales/outlets (vs previous 30 days)", "/api/reports/sales/outlets", span, True),
            ("stock/valuation", "/api/reports/stock/valuation", {}, True),
            ("stock/low", "/api/reports/stock/low", {}, True),
            ("stock/cover (refreshed 28-day velocity)", "/api/reports/stock/cover", {}, True),
            ("shifts", "/api/reports/shifts", span, True),
            ("shifts by=cashier", "/api/reports/shifts", span | {"by": "cashier"}, True),
            ("sales/daily CSV", "/api/reports/sales/daily", span | {"format": "csv"}, True),
            ("sales/items CSV (1000 rows)", "/api/reports/sales/items", span | {"format": "csv", "limit": 1000}, True),
            ("stock/cover CSV", "/api/reports/stock/cover", {"format": "csv"}, True),
            # context, not the target
            ("sales/items top 50, one outlet", "/api/reports/sales/items", span | {"outlet_id": one}, False),
            ("sales/daily, 365 days", "/api/reports/sales/daily", year | {"by": "day"}, False),
            ("sales/items top 50, 365 days", "/api/reports/sales/items", year, False),
            ("stock/cover, 14-day velocity (summed now)", "/api/reports/stock/cover", {"velocity_days": 14}, False),
        ]
        results = []
        print(
            f"{args.base_url}: {len(outlets)} outlets with sales, {span['date_from']} to {span['date_to']}"
            + (f" and the {args.slide - 1} ranges of that length ending on the days before" if args.slide > 1 else "")
            + f"; {args.requests} requests each after {args.warmup} warm-up"
        )
        print(f"{'endpoint':40} {'median ms':>9} {'p99 ms':>8} {'max ms':>8} {'rows':>6} {'bytes':>8}")
        for label, path, params, target in cases:
            if args.only and args.only not in label:
                continue
            for i in range(args.warmup):
                http.get(path, params=slid(params, i, args.slide)).raise_for_status()
            samples = []
            response = None
            for i in range(args.requests):
                asked = slid(params, i, args.slide)
                t0 = time.perf_counter()
                response = http.get(path, params=asked)
                body = response.content
                samples.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
            assert response is not None
            rows = len(body.splitlines()) - 1 if params.get("format") == "csv" else len(response.json().get("rows", []))
            result = {
                "endpoint": label,
                "path": path,
                "params": params,
                "target": target,
                "median_ms": round(statistics.median(samples), 1),
                "p99_ms": round(percentile(samples, 99), 1),
                "max_ms": round(max(samples), 1),
                "rows": rows,
                "bytes": len(body),
            }
            results.append(result)
            flag = "" if not target or result["p99_ms"] < args.target_ms else "  over target"
            print(
                f"{label:40} {result['median_ms']:9.1f} {result['p99_ms']:8.1f} {result['max_ms']:8.1f} {rows:6} {len(body):8}{flag}"
            )
    targets = [r for r in results if r["target"]]
    over = [r for r in targets if r["p99_ms"] >= args.target_ms]
    print(
        f"{len(targets) - len(over)} of {len(targets)} 30-day cases: p99 under {args.target_ms:.0f} ms"
        + (f"; over: {', '.join(r['endpoint'] for r in over)}" if over else "")
    )
    if args.json:
        args.json.write_text(json.dumps({"base_url": args.base_url, "range": span, "results": results}, indent=2))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
