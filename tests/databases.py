"""Scratch databases on the local MariaDB (127.0.0.1:3306, root) for tests that need the
real server: made fresh, dropped afterwards, utf8mb4 as the services' own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql


@contextmanager
def scratch_mariadb(*names: str, prefix: str = "pos_test") -> Iterator[list[str]]:
    """Create the named databases (or one `<prefix>_<random>`), empty, and yield their
    SQLAlchemy URLs; drop them afterwards, whatever the test did."""
    names = names or (f"{prefix}_{uuid.uuid4().hex[:8]}",)
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        yield [f"mysql+pymysql://root@127.0.0.1:3306/{name}" for name in names]
    finally:
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
