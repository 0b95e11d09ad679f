"""scripts/mail_sink.py (the project's SMTP sink, real SMTP over TCP) in its own process
for a test: what it received, read back as e-mail messages."""

from __future__ import annotations

import email
import email.policy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    port: int
    folder: Path

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.folder.glob("*.eml"))
        ]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"the sink received {len(self.messages())} messages, not {count}")


@contextmanager
def running_sink(folder: Path, port: int | None = None, extra: tuple[str, ...] = ()) -> Iterator[Sink]:
    """The sink on `port` (a free one by default), stopped when the block ends; `extra`:
    more of mail_sink.py's options (--tls-cert/--tls-key, --auth)."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "mail_sink.py"), "--port", str(port), "--dir", str(folder), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the mail sink did not start: {process.stderr.read().decode() if process.stderr else ''}")
            time.sleep(0.05)
        yield Sink(port, folder)
    finally:
        process.terminate()
        process.wait(10)
