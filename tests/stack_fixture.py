"""The local stack as a pytest fixture: started once per test session on its own ports,
databases and RabbitMQ vhost (so it never touches a developer's `make stack`), and
stopped at the end. Tests reach it only through the nginx gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stack:
    base_url: str
    state_dir: Path
    admin_email: str
    admin_password: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def login(self, email: str | None = None, password: str | None = None) -> str:
        with self.client() as http:
            response = http.post(
                "/api/identity/login", json={"email": email or self.admin_email, "password": password or self.admin_password}
            )
            response.raise_for_status()
            return response.json()["access_token"]


def stack_args() -> list[str]:
    """Where the test stack lives; POS_TEST_STACK_PORT moves it (several checkouts on one machine)."""
    gateway_port = int(os.environ.get("POS_TEST_STACK_PORT", "18080"))
    name = os.environ.get("POS_TEST_STACK_NAME", "e2e")
    return [
        "--state-dir",
        str(ROOT / "var" / f"test-stack-{name}"),
        "--gateway-port",
        str(gateway_port),
        "--port-base",
        str(gateway_port + 20),
        "--db-prefix",
        f"pos_{name}_",
        "--vhost",
        f"pos_{name}",
        # Two of sales and inventory whatever POS_STACK_REPLICAS says: the fault suite
        # kills one replica and expects the other to take the sales.
        "--replicas",
        "inventory=2,sales=2",
    ]


def run_stack(command: str, *extra: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), command, *stack_args(), *extra], check=True)


# Settings of the test stack (scripts/stack.py passes the environment to every service):
# a short lockout window so the brute-force test can see it end.
# The tax sandbox runs (port base + 34) and sales knows its URL, but tax stays
# built-in unless an outlet chooses the external provider (tests/e2e/test_tax_provider.py).
# Every service traces to the stack's trace sink (ADR 0070; tests/e2e/test_tracing.py).
# Inventory's replicas look for due low-stock digests every 5 s (not every minute), so
# the digest test waits seconds, not minutes.
TEST_STACK_ENV = {
    "POS_LOGIN_LOCKOUT_SECONDS": "10",
    "POS_CARD_PROVIDER": "sandbox",
    "POS_TAX_SANDBOX": "1",
    "POS_TRACE_SINK": "1",
    "POS_DIGEST_CHECK_SECONDS": "5",
}


def start_stack() -> Iterator[Stack]:
    args = stack_args()
    state_dir = Path(args[args.index("--state-dir") + 1])
    for key, value in TEST_STACK_ENV.items():
        os.environ.setdefault(key, value)
    run_stack("down")
    run_stack("up", "--fresh")
    if not os.environ.get("POS_CARD_SANDBOX_URL"):
        # The stack started its own card sandbox (port base + 30): tests talk to that one.
        os.environ["POS_CARD_SANDBOX_URL"] = f"http://127.0.0.1:{int(args[args.index('--port-base') + 1]) + 30}"
    try:
        fields = dict(line.split(": ", 1) for line in (state_dir / "admin-credentials.txt").read_text().splitlines())
        yield Stack(
            base_url=f"http://127.0.0.1:{args[args.index('--gateway-port') + 1]}",
            state_dir=state_dir,
            admin_email=fields["email"],
            admin_password=fields["password"],
        )
    finally:
        run_stack("down")
