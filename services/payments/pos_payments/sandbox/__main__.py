"""`python -m pos_payments.sandbox --port 8190`: the card sandbox as its own process.

Point payments at it with POS_CARD_PROVIDER=sandbox and
POS_CARD_SANDBOX_URL=http://127.0.0.1:8190. State lives in memory: a restart forgets
every charge (it is a sandbox).
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from pos_payments.sandbox.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stripe-like card sandbox with fake money")
    parser.add_argument("--host", default=os.environ.get("POS_CARD_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("POS_CARD_SANDBOX_PORT", "8190")))
    parser.add_argument(
        "--delay-seconds",
        type=float,
        default=float(os.environ.get("POS_CARD_SANDBOX_DELAY_SECONDS", "8")),
        help="how long the timeout test cards keep the caller waiting",
    )
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.delay_seconds), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
