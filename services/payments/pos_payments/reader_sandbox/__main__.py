"""`python -m pos_payments.reader_sandbox --port 8192`: the card reader sandbox as its own process.

The till reaches the reader at POS_CARD_READER_SANDBOX_URL's /nexo (the stack's gateway
passes /reader/ to it); payments captures at the same address
(POS_CARD_READER_ACQUIRER_URL). State lives in memory: a restart forgets every payment.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from pos_payments.reader_sandbox.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Card reader sandbox (Terminal API shape) with fake money")
    parser.add_argument("--host", default=os.environ.get("POS_CARD_READER_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("POS_CARD_READER_SANDBOX_PORT", "8192")))
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
