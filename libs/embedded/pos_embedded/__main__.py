"""`python -m pos_embedded` (what `make run` starts): the whole POS in one process.

SQLite files per service under the data directory, an in-process bus through the same
outbox/inbox code as the real stack, the web app and every API on one port.
"""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

import uvicorn

from pos_platform.bus import InProcessBus

REPO_ROOT = Path(__file__).resolve().parents[3]


def build_app(data_dir: Path, port: int, web_root: Path | None):
    from pos_catalog.app import create_app as catalog_app
    from pos_catalog.config import Settings as CatalogSettings
    from pos_embedded.gateway import EmbeddedGateway
    from pos_identity.app import create_app as identity_app
    from pos_identity.config import Settings as IdentitySettings
    from pos_inventory.app import create_app as inventory_app
    from pos_inventory.config import Settings as InventorySettings
    from pos_payments.app import create_app as payments_app
    from pos_payments.config import Settings as PaymentsSettings
    from pos_reports.app import create_app as reports_app
    from pos_reports.config import Settings as ReportsSettings
    from pos_sales.app import create_app as sales_app
    from pos_sales.config import Settings as SalesSettings

    keys = data_dir / "keys"
    common = {"bus": "inprocess", "jwt_public_key_file": str(keys / "jwt-public.pem")}
    bus = InProcessBus()
    self_url = f"http://127.0.0.1:{port}"

    def db(name: str) -> str:
        return f"sqlite:///{data_dir / (name + '.db')}"

    services = {
        "identity": identity_app(
            IdentitySettings(
                **common,
                database_url=db("identity"),
                jwt_private_key_file=str(keys / "jwt-private.pem"),
                admin_credentials_file=str(data_dir / "admin-credentials.txt"),
                access_token_ttl_seconds=int(os.environ.get("POS_ACCESS_TOKEN_TTL_SECONDS", 8 * 3600)),
            ),
            bus=bus,
            migrate_on_start=True,
        ),
        "catalog": catalog_app(CatalogSettings(**common, database_url=db("catalog")), bus=bus, migrate_on_start=True),
        "inventory": inventory_app(InventorySettings(**common, database_url=db("inventory")), bus=bus, migrate_on_start=True),
        "sales": sales_app(
            SalesSettings(**common, database_url=db("sales"), inventory_url=self_url, payments_url=self_url),
            bus=bus,
            migrate_on_start=True,
        ),
        "payments": payments_app(PaymentsSettings(**common, database_url=db("payments")), bus=bus, migrate_on_start=True),
        "reports": reports_app(
            ReportsSettings(**common, database_url=db("reports"), payments_url=self_url), bus=bus, migrate_on_start=True
        ),
    }
    return EmbeddedGateway(services, web_root)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the whole POS in one process (no servers needed)")
    parser.add_argument("--host", default=os.environ.get("POS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("POS_PORT", "8080")))
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("POS_DATA_DIR", REPO_ROOT / "var" / "embedded")))
    parser.add_argument("--web-root", type=Path, default=REPO_ROOT / "web" / "dist")
    parser.add_argument("--no-demo", action="store_true", help="do not seed the demo chain on first start")
    parser.add_argument(
        "--demo-history-days",
        type=int,
        default=int(os.environ.get("POS_DEMO_HISTORY_DAYS", "0")),
        help="with the demo chain, record this many days of past sales once, in the background (at most 29; `make run` asks for 29)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.demo_history_days <= 29:
        parser.error(f"--demo-history-days is 0 to 29 (the offline limit is 720 h), not {args.demo_history_days}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(args.data_dir.resolve(), args.port, args.web_root)
    base_url = f"http://127.0.0.1:{args.port}"
    if not args.no_demo:
        from pos_embedded.demo import seed_in_background

        threading.Thread(target=seed_in_background, args=(base_url, args.data_dir, args.demo_history_days), daemon=True).start()
    print(f"POS (embedded) on http://{args.host}:{args.port}  data: {args.data_dir}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
