"""The embedded gateway: routes by path exactly as the nginx config does, runs every
service's lifespan, and serves the web app."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("pos.embedded")

# Paths the original design used, kept working (same table as gateway/nginx.conf.template).
LEGACY_PREFIXES = {"/api/items": "catalog"}

PLACEHOLDER = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>POS</title></head>
<body><h1>POS is running</h1><p>The web app is not built yet: run <code>make web</code>.
APIs: <a href="/api/catalog/docs">catalog</a>, <a href="/api/sales/docs">sales</a>,
<a href="/api/inventory/docs">inventory</a>.</p></body></html>"""


# Cache-Control for the web app, as gateway/nginx.conf.template sets it: hashed build
# assets never change under their name; the shell, the service worker and the manifest
# keep their names across versions, so they are revalidated on every load.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def cache_control(path: str) -> str:
    return IMMUTABLE if path.startswith("/assets/") else REVALIDATE


# The card readers the till's page may reach (ADR 0073), as the gateway's header lists
# them (the same variable as gateway/render.py's): web/index.html's own policy allows any
# HTTPS origin for them, and a page keeps only what both policies allow.
CARD_READERS_ENV = "POS_GATEWAY_CARD_READER_ORIGINS"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?$")


def content_security_policy(reader_origins: str | None = None) -> str:
    """The gateway's Content-Security-Policy (gateway/nginx.conf.template), with the
    card readers' origins in connect-src; a malformed origin is left out."""
    text = os.environ.get(CARD_READERS_ENV, "") if reader_origins is None else reader_origins
    readers = "".join(f" {o}" for o in (o.strip() for o in text.split(",")) if _ORIGIN.match(o))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"connect-src 'self'{readers}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )


class _CacheHeaders:
    """Sets Cache-Control on the web app's answers by path, and the gateway's CSP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.policy = content_security_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = cache_control(scope.get("path", "/"))

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = value
                headers["Content-Security-Policy"] = self.policy
            await send(message)

        await self.app(scope, receive, with_header)


class EmbeddedGateway:
    def __init__(self, services: Mapping[str, FastAPI], web_root: Path | None) -> None:
        self.services = dict(services)
        self.static: StaticFiles | None = (
            StaticFiles(directory=web_root, html=True) if web_root and (web_root / "index.html").exists() else None
        )
        # The web app compressed (as nginx's gzip does; the APIs are not wrapped, so their
        # event streams are never buffered) and with the gateway's cache headers.
        self.web: ASGIApp = (
            GZipMiddleware(_CacheHeaders(self.static), minimum_size=1024) if self.static else HTMLResponse(PLACEHOLDER)
        )

    def _route(self, path: str) -> ASGIApp | None:
        for prefix, name in LEGACY_PREFIXES.items():
            if path == prefix or path.startswith(prefix + "/"):
                return self.services[name]
        if path.startswith("/api/"):
            name = path.split("/", 3)[2]
            return self.services.get(name)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "")
        if path in ("/healthz", "/readyz"):
            await JSONResponse({"status": "ok", "services": sorted(self.services)})(scope, receive, send)
            return
        app = self._route(path)
        if path.startswith("/api/") and path.endswith("/metrics"):
            # As at the nginx gateway: metrics are for the operator's scraper, not the public.
            app = None
        if app is None:
            if path.startswith("/api/"):
                await JSONResponse({"detail": f"no service serves {path}"}, status_code=404)(scope, receive, send)
                return
            await self._web(scope, receive, send)
            return
        await app(scope, receive, send)

    async def _web(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Single-page app: unknown paths fall back to index.html, as nginx's try_files;
        # except a build asset, the service worker or the manifest, which are a 404
        # (never the HTML shell served as JavaScript).
        if self.static is not None:
            path = scope["path"]
            full = Path(str(self.static.directory)) / path.lstrip("/")
            if path != "/" and not full.exists():
                if path.startswith("/assets/") or path in ("/sw.js", "/manifest.webmanifest"):
                    await JSONResponse({"detail": f"{path} is not part of this version of the app"}, status_code=404)(
                        scope, receive, send
                    )
                    return
                scope = {**scope, "path": "/"}
        await self.web(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        stack = contextlib.AsyncExitStack()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for app in self.services.values():
                        await stack.enter_async_context(app.router.lifespan_context(app))
                except Exception as exc:
                    log.exception("start-up failed")
                    await stack.aclose()
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
