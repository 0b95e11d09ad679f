"""`python -m pos_sales.tax_sandbox --port 8134`: the tax sandbox as its own process.

Point sales at it with POS_TAX_API_URL=http://127.0.0.1:8134 (and POS_TAX_PROVIDER=external,
or an outlet's `tax_provider: external`). State lives in memory.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from pos_sales.tax_sandbox.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="tax calculation API sandbox (POST /v1/tax/calculations)")
    parser.add_argument("--host", default=os.environ.get("POS_TAX_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("POS_TAX_SANDBOX_PORT", "8134")))
    parser.add_argument("--api-key", default=os.environ.get("POS_TAX_SANDBOX_API_KEY", ""), help="require this bearer key")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(api_key=args.api_key or None), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
