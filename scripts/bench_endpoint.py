#!/usr/bin/env python3
"""CPU per request of one endpoint in the process that serves it: keep-alive clients GET
a URL straight at a service process (not through nginx) for a while, and the process's
own CPU time (from /proc/<pid>/stat) is divided by the requests answered. It measures
the per-request cost of the framework and the platform (middleware, dependencies,
serialisation), which the sale path pays on every hop.

    # against a running stack (scripts/stack.py up): sales' first replica is port base + 4
    .venv/bin/python scripts/bench_endpoint.py \\
        --url http://127.0.0.1:8104/api/sales/sync-exceptions/count \\
        --pid "$(cat var/stack/pids/sales-0.pid)" --token-file /tmp/token --rounds 3

Prints one line per round and the median; exits 1 if any answer was not 200.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import httpx


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_round(url: str, pid: int, connections: int, seconds: float, headers: dict[str, str]) -> tuple[float, float, int]:
    """(requests/s, server CPU ms per request, answers that were not 200)."""
    answered = failed = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, trust_env=False, limits=limits, timeout=10.0) as client:
        for _ in range(2 * connections):  # warm the connections and the caches
            await client.get(url)
        stop = time.monotonic() + seconds
        cpu_before, started = process_cpu_seconds(pid), time.monotonic()

        async def worker() -> None:
            nonlocal answered, failed
            while time.monotonic() < stop:
                response = await client.get(url)
                answered += 1
                failed += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(connections)))
        cpu_after, elapsed = process_cpu_seconds(pid), time.monotonic() - started
    return answered / elapsed, 1000 * (cpu_after - cpu_before) / max(answered, 1), failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the process serving --url")
    parser.add_argument("--token-file", type=Path, help="a bearer token to send")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token_file.read_text().strip()}"} if args.token_file else {}
    cpu_per_request = []
    failures = 0
    for n in range(1, args.rounds + 1):
        rate, cpu_ms, failed = asyncio.run(one_round(args.url, args.pid, args.connections, args.seconds, headers))
        failures += failed
        cpu_per_request.append(cpu_ms)
        print(f"round {n}: {rate:,.0f} requests/s, {cpu_ms:.3f} ms of the server's CPU per request, {failed} not 200")
    print(f"median: {statistics.median(cpu_per_request):.3f} ms of the server's CPU per request ({args.url})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
