"""`python -m pos_payments.rates_sandbox --port 8191`: the rates sandbox as its own process.

Point payments at it with POS_RATES_PROVIDER=sandbox and
POS_RATES_SANDBOX_URL=http://127.0.0.1:8191/stats/eurofxref/eurofxref-daily.xml.
State lives in memory: a restart is back to the default rates, dated today.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from pos_payments.rates_sandbox.app import create_app, parse_rates_option


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ECB-like exchange-rate sandbox (eurofxref-daily.xml)")
    parser.add_argument("--host", default=os.environ.get("POS_RATES_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("POS_RATES_SANDBOX_PORT", "8191")))
    parser.add_argument(
        "--rates",
        default=os.environ.get("POS_RATES_SANDBOX_RATES", ""),
        help="the rates served, e.g. USD=1.0812,GBP=0.8513 (default: a realistic set of the ECB's currencies)",
    )
    parser.add_argument(
        "--date", default=os.environ.get("POS_RATES_SANDBOX_DATE", ""), help="reference date YYYY-MM-DD (default: today, UTC)"
    )
    args = parser.parse_args(argv)
    app = create_app(rates=parse_rates_option(args.rates) or None, reference_date=args.date or None)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
