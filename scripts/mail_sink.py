"""A local SMTP sink: takes any message over real SMTP (aiosmtpd) and keeps it as a .eml
file in a folder, for tests and the local stack (receipts by e-mail, docs/checkout.md).
It stands in for the shop's mail server, which is outside the project.

    .venv/bin/python scripts/mail_sink.py --port 2525 --dir var/mail

With --tls-cert/--tls-key it offers STARTTLS and requires it; with --auth USER:PASSWORD
it requires AUTH (PLAIN or LOGIN, over TLS only) and refuses other log-ins with a 535.

Scripted failures: an address at the domain `refused.invalid` gets a 550 (the mail
server refuses the address for good); one at `busy-once.invalid` gets a 451 (try again
later) the first time it is given, then is taken.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import ssl
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REFUSED_DOMAIN = "@refused.invalid"
BUSY_ONCE_DOMAIN = "@busy-once.invalid"


class FolderHandler:
    """Writes each message, as received (with Return-Path and X-Rcpt-To added), into
    `folder` as <time>-<n>.eml, atomically (a reader never sees half a file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)
        self.busy_seen: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address.lower().endswith(REFUSED_DOMAIN):
            return "550 5.1.1 no such mailbox here"
        if address.lower().endswith(BUSY_ONCE_DOMAIN) and address.lower() not in self.busy_seen:
            self.busy_seen.add(address.lower())
            return "451 4.3.0 busy: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{next(self.counter)}"
        head = f"Return-Path: <{envelope.mail_from}>\r\nX-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        body = envelope.original_content or envelope.content
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(head + (body if isinstance(body, bytes) else body.encode()))
        os.replace(tmp, self.folder / f"{name}.eml")
        print(f"[mail-sink] message for {', '.join(envelope.rcpt_tos)} kept as {name}.eml", flush=True)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True, help="where received messages are written (.eml)")
    parser.add_argument("--tls-cert", help="a PEM certificate: offer STARTTLS and require it")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    parser.add_argument("--auth", help="USER:PASSWORD: require AUTH with these (over TLS)")
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options |= {"tls_context": context, "require_starttls": True}
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                user.encode(),
                password.encode(),
            )
            return AuthResult(success=ok, handled=False)

        options |= {"authenticator": authenticator, "auth_required": True, "auth_require_tls": bool(args.tls_cert)}
    controller = Controller(FolderHandler(folder), hostname=args.host, port=args.port, ready_timeout=10, **options)
    controller.start()
    print(f"[mail-sink] listening on {args.host}:{args.port}, messages in {folder}", flush=True)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
