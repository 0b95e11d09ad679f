"""scripts/mail_sink.py (the project's SMTP sink, real SMTP over TCP) in its own process
for a test: what it received, read back as e-mail messages; the settings that send to it;
reading a folder of received mail (the local stack's sink writes one too)."""

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
from typing import Literal, TypedDict

from pos_platform.testing import free_port

ROOT = Path(__file__).resolve().parents[1]


def read_mail(folder: Path) -> list[EmailMessage]:
    """The messages the sink wrote to `folder` (one .eml file each), oldest name first."""
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in sorted(folder.glob("*.eml"))]


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    """The text/`subtype` part of `message` (plain or html)."""
    body = message.get_body((subtype,))
    assert body is not None, f"no text/{subtype} part in {message['Subject']!r}"
    return str(body.get_content())


class SmtpToSink(TypedDict):
    """The SMTP settings (pos_platform.mail.SmtpSettings' fields) that send to a sink on
    this machine, for `Settings(..., **smtp_to_sink(port, ...))`."""

    smtp_host: str
    smtp_port: int
    smtp_tls: Literal["starttls", "tls", "none"]
    smtp_from: str
    smtp_attempts: int
    smtp_timeout_seconds: float
    smtp_backoff_seconds: float
    smtp_backoff_max_seconds: float


def smtp_to_sink(
    port: int, sender: str, *, attempts: int = 3, timeout_seconds: float, backoff_seconds: float, backoff_max_seconds: float
) -> SmtpToSink:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "smtp_from": sender,
        "smtp_attempts": attempts,
        "smtp_timeout_seconds": timeout_seconds,
        "smtp_backoff_seconds": backoff_seconds,
        "smtp_backoff_max_seconds": backoff_max_seconds,
    }


@dataclass
class Sink:
    port: int
    folder: Path

    def messages(self) -> list[EmailMessage]:
        return read_mail(self.folder)

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
