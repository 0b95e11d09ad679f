#!/usr/bin/env python3
"""Before/after of the sale path: scripts/loadgen.py against two running stacks, back to
back, alternating, so both see the same box (medians of N rounds, and the ratio of the
candidate to the reference measured in the same run).

    # two stacks up (e.g. a worktree of the reference commit on other ports), then:
    .venv/bin/python scripts/bench_sale_path.py \\
        --stack ref=http://127.0.0.1:28080,/work/ref/var/ref-stack \\
        --stack new=http://127.0.0.1:38080,var/bench-stack --tills 8 32 --rounds 3 --duration 20

Prints a table per till count (sales/s, checkout p50/p99, SaleCompleted->StockDeducted
p99, box CPU ms per sale, per-process CPU ms per sale) and every loadgen check; exits 1
if any check of any run failed. `--json FILE` keeps every run's loadgen result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_loadgen(base_url: str, state_dir: str, tills: int, duration: float, card_share: float, seed: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "loadgen.py"),
        "--base-url",
        base_url,
        "--state-dir",
        state_dir,
        "--tills",
        str(tills),
        "--duration",
        str(duration),
        "--card-share",
        str(card_share),
        "--seed",
        str(seed),
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = out.stdout
    start = text.find("\n{")
    if start < 0:
        raise SystemExit(f"loadgen printed no JSON (exit {out.returncode}):\n{text[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(text[start + 1 :])


def summary(result: dict[str, Any]) -> dict[str, float | None]:
    lag = result["lag_ledger_ms"]["p99"]
    return {
        "sales_s": result["completed_per_s"],
        "p50": result["latency_ms"]["p50"],
        "p99": result["latency_ms"]["p99"],
        "lag_p99": lag[1] if result["lag_ledger_ms"]["second_resolution"] else lag[0],
        "cpu_ms": result["box_cpu_ms_per_sale"],
    }


def median(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.median(real) if real else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", action="append", required=True, help="NAME=BASE_URL,STATE_DIR (the first is the reference)")
    parser.add_argument("--tills", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--card-share", type=float, default=0.5)
    parser.add_argument("--json", default=None, help="write every run's loadgen result here")
    args = parser.parse_args(argv)
    stacks = []
    for spec in args.stack:
        name, _, rest = spec.partition("=")
        base_url, _, state_dir = rest.partition(",")
        stacks.append((name, base_url, state_dir))
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    failed = []
    for tills in args.tills:
        for round_no in range(args.rounds):
            order = stacks if round_no % 2 == 0 else list(reversed(stacks))
            for name, base_url, state_dir in order:
                result = run_loadgen(base_url, state_dir, tills, args.duration, args.card_share, seed=1000 * round_no + tills)
                runs.setdefault((name, tills), []).append(result)
                s = summary(result)
                bad = [k for k, ok in result["checks"].items() if not ok]
                failed += [f"{name} {tills} tills round {round_no + 1}: {', '.join(bad)}"] if bad else []
                print(
                    f"[bench] {name:>6} {tills:>3} tills round {round_no + 1}: {fmt(s['sales_s'])} sales/s, p99 {fmt(s['p99'])} ms, "
                    f"lag p99 {fmt(s['lag_p99'])} ms, {fmt(s['cpu_ms'])} ms CPU/sale, checks {'ok' if not bad else 'FAILED: ' + ', '.join(bad)}",
                    flush=True,
                )
    reference = stacks[0][0]
    for tills in args.tills:
        print(f"\n{tills} tills, card share {args.card_share}, {args.rounds} rounds of {args.duration:.0f} s (medians):")
        print(f"  {'stack':<8}{'sales/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'lag p99':>9}{'CPU ms/sale':>13}{'x ref sales/s':>15}")
        ref_rate = median([summary(r)["sales_s"] for r in runs[(reference, tills)]])
        for name, _, _ in stacks:
            ss = [summary(r) for r in runs[(name, tills)]]
            rate = median([s["sales_s"] for s in ss])
            ratio = rate / ref_rate if rate and ref_rate else None
            print(
                f"  {name:<8}{fmt(rate):>9}{fmt(median([s['p50'] for s in ss])):>9}{fmt(median([s['p99'] for s in ss])):>9}"
                f"{fmt(median([s['lag_p99'] for s in ss])):>9}{fmt(median([s['cpu_ms'] for s in ss])):>13}{fmt(ratio, 2):>15}"
            )
        for name, _, _ in stacks:
            # replicas of a service summed per run, then the median over runs
            by_service: dict[str, list[float]] = {}
            for r in runs[(name, tills)]:
                totals: dict[str, float] = {}
                for proc, ms in r["cpu_ms_per_sale"].items():
                    key = proc.rsplit("-", 1)[0] if proc[-1].isdigit() else proc
                    totals[key] = totals.get(key, 0.0) + ms
                for key, ms in totals.items():
                    by_service.setdefault(key, []).append(ms)
            parts = ", ".join(
                f"{k} {fmt(median(v))}" for k, v in sorted(by_service.items(), key=lambda kv: -(median(kv[1]) or 0))
            )
            print(f"  {name} CPU ms/sale by process: {parts}")
            last = runs[(name, tills)][-1].get("rss_mib_after") or {}
            if last:
                print(f"  {name} RSS after the last run (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(last.items())))
    if args.json:
        Path(args.json).write_text(json.dumps({f"{n} {t}": r for (n, t), r in runs.items()}, indent=1))
    if failed:
        print("\nloadgen checks FAILED:\n  " + "\n  ".join(failed))
        return 1
    print("\nevery loadgen check passed in every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
