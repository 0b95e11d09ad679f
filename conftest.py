"""Test-wide rules: tests that need servers say so with a marker; when a server is
missing they are skipped on a developer's machine (with the command that installs it)
and fail under CI=true, where nothing may be skipped."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.smtp_sink import Sink

IN_CI = os.environ.get("CI", "").lower() == "true"
INSTALL_HINT = "sudo .ci/install-servers.sh   (installs and starts MariaDB, RabbitMQ and nginx on Debian/Ubuntu)"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _nginx() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


def _fault_servers() -> bool:
    """The fault suite starts MariaDB and a RabbitMQ node of its own: their programs, and
    root (Debian's rabbitmq-server runs a node only for root or the rabbitmq user)."""
    programs = ("/usr/sbin/mariadbd", "/usr/sbin/rabbitmq-server")
    return all(Path(p).exists() for p in programs) and shutil.which("mariadb-install-db") is not None and os.geteuid() == 0


REQUIREMENTS = {
    "MariaDB on 127.0.0.1:3306": lambda: _port_open(3306),
    "RabbitMQ on 127.0.0.1:5672": lambda: _port_open(5672),
    "nginx": _nginx,
    "Chromium (/usr/bin/chromium)": lambda: Path("/usr/bin/chromium").exists(),
    "MariaDB and RabbitMQ programs, run as root (private servers)": _fault_servers,
}
NEEDS = {
    "integration": ["MariaDB on 127.0.0.1:3306", "RabbitMQ on 127.0.0.1:5672"],
    "e2e": ["MariaDB on 127.0.0.1:3306", "RabbitMQ on 127.0.0.1:5672", "nginx"],
    "browser": ["Chromium (/usr/bin/chromium)"],
    "faults": ["MariaDB and RabbitMQ programs, run as root (private servers)", "nginx"],
}
if os.environ.get("POS_BROWSER_BASE_URL") == "stack":
    # `make test` drives the browser through the local stack's nginx.
    NEEDS["browser"] = NEEDS["e2e"] + NEEDS["browser"]
_missing_cache: dict[str, bool] = {}
_skipped_for_servers: list[str] = []


def missing_requirements(markers: list[str]) -> list[str]:
    missing = []
    for marker in markers:
        for requirement in NEEDS.get(marker, []):
            if requirement not in _missing_cache:
                _missing_cache[requirement] = not REQUIREMENTS[requirement]()
            if _missing_cache[requirement] and requirement not in missing:
                missing.append(requirement)
    return missing


def pytest_runtest_setup(item: pytest.Item) -> None:
    markers = [m.name for m in item.iter_markers() if m.name in NEEDS]
    missing = missing_requirements(markers)
    if not missing:
        return
    message = f"needs {', '.join(missing)}"
    if IN_CI:
        pytest.fail(f"{message}: CI=true, so this test may not be skipped", pytrace=False)
    _skipped_for_servers.append(item.nodeid)
    pytest.skip(f"{message}; to run it: {INSTALL_HINT}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped_for_servers:
        terminalreporter.section("skipped: servers missing")
        terminalreporter.write_line(
            f"{len(_skipped_for_servers)} tests need servers that are not running here "
            f"({', '.join(sorted(k for k, v in _missing_cache.items() if v))})."
        )
        terminalreporter.write_line(f"Everything that needs no server passed or failed above. To run the rest: {INSTALL_HINT}")


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh Ed25519 key pair for a test's services (private, public), as identity
    makes one: every service's in-process tests sign and check tokens with it."""
    from pos_platform.keys import ensure_keypair

    private, public = tmp_path / "jwt-private.pem", tmp_path / "jwt-public.pem"
    ensure_keypair(str(private), str(public))
    return private, public


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    """The project's SMTP sink (scripts/mail_sink.py, real SMTP) in its own process for
    one test; what it receives is read back with `sink.wait_for(n)`."""
    from tests.smtp_sink import running_sink

    with running_sink(tmp_path / "mail") as received:
        yield received
