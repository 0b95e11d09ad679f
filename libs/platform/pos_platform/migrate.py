"""Alembic migrations for any service: `pos-migrate <service>`.

Each service keeps its migrations inside its package (`pos_<service>/migrations`), so
the same command works from a checkout, a wheel or a container image.
"""

from __future__ import annotations

import argparse
import os

from alembic import command
from alembic.config import Config

from pos_platform.settings import ServiceSettings


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"pos_{service}:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    command.upgrade(alembic_config(service, url), revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Apply a service's database migrations")
    parser.add_argument("service", choices=["identity", "catalog", "inventory", "sales", "payments", "reports"])
    parser.add_argument("--revision", default="head")
    args = parser.parse_args(argv)
    url = ServiceSettings().database_url_for(args.service)
    upgrade(args.service, url, args.revision)
    print(f"{args.service}: migrated to {args.revision}")


if __name__ == "__main__":
    main()
