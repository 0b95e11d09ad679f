"""Render the gateway's nginx.conf from gateway/nginx.conf.template.

Stdlib only, so it runs in any build stage. Placeholders are `{{ NAME }}` (nginx owns
`$`). Every value is validated before it is written, so a typo fails here with a clear
message instead of as an nginx syntax error (or, worse, as an injected directive).

Examples::

    # local process stack (ports from docs/conventions.md)
    python gateway/render.py --mode local --prefix .run/gateway --out .run/gateway/nginx.conf
    nginx -p .run/gateway -c "$PWD/.run/gateway/nginx.conf"

    # container image (upstreams <svc>:8000, logs to stdout/stderr)
    python gateway/render.py --mode compose --out /etc/nginx/nginx.conf

    # anything else: every service needs at least one --upstream
    python gateway/render.py --out nginx.conf --prefix /run/pos-gateway \\
        --web-root /srv/pos/web --listen 8080 \\
        --upstream identity=10.0.0.5:8000 --upstream sales=10.0.0.6:8000,10.0.0.7:8000 ...
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

SERVICES = ("identity", "catalog", "inventory", "sales", "payments", "reports")

TEMPLATE_PATH = Path(__file__).resolve().with_name("nginx.conf.template")
REPO_ROOT = Path(__file__).resolve().parent.parent

# Defaults of the container image (used by the gateway Dockerfile via --mode compose).
COMPOSE_PORT = 8000
COMPOSE_WEB_ROOT = "/usr/share/nginx/html"
COMPOSE_PREFIX = "/var/cache/nginx-pos"

DEFAULT_LISTEN = "8080"
DEFAULT_MAX_BODY = "10m"
DEFAULT_LOGIN_RATE = "10r/s"
DEFAULT_LOGIN_BURST = 20
DEFAULT_PIN_RATE = "30r/m"
DEFAULT_PIN_BURST = 10
# Origins (besides the gateway's own) whose pages may call the API with credentials;
# comma-separated in this environment variable, or --cors-origin (repeatable).
CORS_ENV = "POS_GATEWAY_CORS_ORIGINS"
# The shops' card readers the till may reach from the browser (ADR 0073): added to the
# CSP's connect-src; comma-separated in this environment variable, or --card-reader-origin.
CARD_READERS_ENV = "POS_GATEWAY_CARD_READER_ORIGINS"
DEFAULT_WORKER_CONNECTIONS = 1024
UPSTREAM_KEEPALIVE = 32
# Below uvicorn's default --timeout-keep-alive (5 s): nginx must drop an idle upstream
# connection before the service does, or a POST sent on a connection the service is
# just closing fails with 502 (nginx never retries a non-idempotent request).
UPSTREAM_KEEPALIVE_TIMEOUT = "4s"
# A replica is left out after this many connection failures (refused, reset, timed out)
# within UPSTREAM_FAIL_TIMEOUT, and for that long. nginx's default (1 failure, 10 s)
# took a whole service out for 10 s when each of its replicas failed once: every
# request in between got "no live upstreams" at once, even with the replicas back.
UPSTREAM_MAX_FAILS = 3
UPSTREAM_FAIL_TIMEOUT = "2s"

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Z_]+)\s*\}\}")
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_SERVER = re.compile(rf"^(?:{_HOST}:\d{{1,5}}|unix:/[^\s;{{}}'\"$#\\]+)$")
_LISTEN = re.compile(rf"^(?:{_HOST}:)?\d{{1,5}}$")
_RESOLVER = re.compile(rf"^{_HOST}(?::\d{{1,5}})?$")
_SIZE = re.compile(r"^\d+[kKmMgG]?$")
_RATE = re.compile(r"^\d+r/[sm]$")
_ORIGIN = re.compile(rf"^https?://{_HOST}(?::\d{{1,5}})?$")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*(?: [A-Za-z_][A-Za-z0-9_.-]*)?$")
# Characters that would end or alter an nginx directive if they reached a path.
_UNSAFE_PATH_CHARS = set(" \t\r\n;{}'\"$#\\")


class RenderError(ValueError):
    """A value given to render() (or on the command line) cannot be used."""


def local_stack_upstreams() -> dict[str, list[str]]:
    """Upstreams of the local process stack: the loopback ports of docs/conventions.md."""
    return {
        "identity": ["127.0.0.1:8101"],
        "catalog": ["127.0.0.1:8102"],
        "inventory": ["127.0.0.1:8103", "127.0.0.1:8113"],
        "sales": ["127.0.0.1:8104", "127.0.0.1:8114"],
        "payments": ["127.0.0.1:8105"],
        "reports": ["127.0.0.1:8106"],
    }


def compose_upstreams() -> dict[str, list[str]]:
    """Upstreams inside compose: each service by its name, on the container port."""
    return {svc: [f"{svc}:{COMPOSE_PORT}"] for svc in SERVICES}


def render(
    *,
    prefix: str | Path,
    web_root: str | Path,
    upstreams: Mapping[str, Sequence[str]],
    listen: str | int = DEFAULT_LISTEN,
    max_body: str = DEFAULT_MAX_BODY,
    resolver: str | None = None,
    access_log: str | Path | None = None,
    error_log: str | Path | None = None,
    user: str | None = None,
    login_rate: str = DEFAULT_LOGIN_RATE,
    login_burst: int = DEFAULT_LOGIN_BURST,
    pin_rate: str = DEFAULT_PIN_RATE,
    pin_burst: int = DEFAULT_PIN_BURST,
    cors_origins: Sequence[str] = (),
    worker_connections: int = DEFAULT_WORKER_CONNECTIONS,
    template: str | None = None,
    card_reader_origins: Sequence[str] = (),
) -> str:
    """Return the nginx.conf text.

    prefix: absolute runtime dir (pid, logs, temp dirs); it must exist when nginx starts.
    web_root: absolute dir of the built web app.
    upstreams: service -> ["host:port", ...]; every name in SERVICES, nothing else.
    access_log / error_log: default to files under prefix; "/dev/stdout" and "stderr"
    are fine too. user: optional `user` directive value (only matters when root).
    cors_origins: exact origins (scheme://host[:port]) allowed to call the API from a
    browser with credentials; empty (the default) means same-origin only.
    card_reader_origins: the card readers' origins (scheme://host[:port]) the till's page
    may connect to (ADR 0073), added to the CSP's connect-src; empty: none.
    Raises RenderError on any unusable value.
    """
    prefix_s = _abs_path("prefix", prefix)
    values = {
        "PREFIX": prefix_s,
        "WEB_ROOT": _abs_path("web root", web_root),
        "LISTEN": _check(_LISTEN, "listen address", str(listen)),
        "MAX_BODY": _check(_SIZE, "max body size", max_body),
        "LOGIN_RATE": _check(_RATE, "login rate", login_rate),
        "LOGIN_BURST": str(_positive_int("login burst", login_burst)),
        "PIN_RATE": _check(_RATE, "PIN rate", pin_rate),
        "PIN_BURST": str(_positive_int("PIN burst", pin_burst)),
        "CORS_ORIGINS": _cors_map_entries(cors_origins),
        "CARD_READER_SOURCES": _card_reader_sources(card_reader_origins),
        "WORKER_CONNECTIONS": str(_positive_int("worker connections", worker_connections)),
        "ACCESS_LOG": _log_target("access log", access_log, f"{prefix_s}/access.log"),
        "ERROR_LOG": _log_target("error log", error_log, f"{prefix_s}/error.log", allow_stderr=True),
        "USER_DIRECTIVE": _user_directive(user),
        "RESOLVER_DIRECTIVE": _resolver_directive(resolver),
        "UPSTREAMS": _upstream_blocks(upstreams),
    }
    text = TEMPLATE_PATH.read_text(encoding="utf-8") if template is None else template

    missing: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            missing.add(name)
            return match.group(0)
        return values[name]

    rendered = _PLACEHOLDER.sub(substitute, text)
    if missing:
        raise RenderError(f"template uses unknown placeholder(s): {', '.join(sorted(missing))}")
    if "{{" in rendered:  # e.g. a lower-case or misspelt placeholder
        raise RenderError("template has an unfilled '{{ ... }}' placeholder")
    return rendered


def _check(pattern: re.Pattern[str], what: str, value: str) -> str:
    if not pattern.match(value):
        raise RenderError(f"invalid {what}: {value!r}")
    return value


def _positive_int(what: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RenderError(f"{what} must be a positive integer, got {value!r}")
    return value


def _abs_path(what: str, value: str | Path) -> str:
    text = str(value)
    if not text.startswith("/"):
        raise RenderError(f"{what} must be an absolute path, got {text!r}")
    if _UNSAFE_PATH_CHARS & set(text):
        raise RenderError(f"{what} contains characters nginx cannot take unquoted: {text!r}")
    # nginx is happy with a trailing slash, but "//" in generated paths looks like a bug.
    return text.rstrip("/") or "/"


def _log_target(what: str, value: str | Path | None, default: str, allow_stderr: bool = False) -> str:
    if value is None:
        return default
    # error_log knows the keyword; access_log would take it as a file in the prefix.
    if str(value) == "stderr":
        if not allow_stderr:
            raise RenderError(f"{what}: no 'stderr' keyword here, use /dev/stderr")
        return "stderr"
    return _abs_path(what, value)


def _cors_map_entries(origins: Sequence[str]) -> str:
    if isinstance(origins, str):
        raise RenderError("cors_origins must be a list of origins, not a string")
    lines = []
    for origin in origins:
        if origin == "*" or not _ORIGIN.match(origin):
            raise RenderError(f"invalid CORS origin {origin!r}: give scheme://host[:port], no path, no wildcard")
        lines.append(f'        "{origin}" $http_origin;')
    return "\n".join(lines) if lines else "        # (none: same-origin only)"


def _card_reader_sources(origins: Sequence[str]) -> str:
    if isinstance(origins, str):
        raise RenderError("card_reader_origins must be a list of origins, not a string")
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise RenderError(f"invalid card reader origin {origin!r}: give scheme://host[:port], no path, no wildcard")
    return "".join(f" {origin}" for origin in origins)


def parse_cors_origins(text: str | None) -> list[str]:
    """ "https://a.example, https://b.example" -> a list (empty for None or blanks)."""
    return [o.strip() for o in (text or "").split(",") if o.strip()]


def _user_directive(user: str | None) -> str:
    if not user:
        return "# (no `user` directive: see above)"
    return f"user {_check(_USER, 'user', user)};"


def _resolver_directive(resolver: str | None) -> str:
    if not resolver:
        return "    # (no resolver: upstream names are resolved once, when nginx starts)"
    addresses = resolver.replace(",", " ").split()
    for address in addresses:
        _check(_RESOLVER, "resolver address", address)
    # ipv6=off: Docker's embedded DNS (127.0.0.11) answers A records for services.
    return f"    resolver {' '.join(addresses)} valid=10s ipv6=off;"


def _upstream_blocks(upstreams: Mapping[str, Sequence[str]]) -> str:
    unknown = sorted(set(upstreams) - set(SERVICES))
    if unknown:
        raise RenderError(f"unknown service(s): {', '.join(unknown)} (known: {', '.join(SERVICES)})")
    missing = [svc for svc in SERVICES if not upstreams.get(svc)]
    if missing:
        raise RenderError(
            f"no upstream server for: {', '.join(missing)} "
            "(every service needs at least one, e.g. --upstream identity=127.0.0.1:8101)"
        )
    blocks = []
    for svc in SERVICES:
        servers = upstreams[svc]
        if isinstance(servers, str):  # a bare string would be iterated per character
            raise RenderError(f"upstreams[{svc!r}] must be a list of host:port, not a string")
        # zone: replica state (round robin, failures) shared by all workers, so a dead
        # replica is taken out once rather than once per worker.
        lines = [f"    upstream {svc} {{", f"        zone upstream_{svc} 64k;"]
        for server in servers:
            lines.append(
                f"        server {_check(_SERVER, f'{svc} upstream server', server)} "
                f"max_fails={UPSTREAM_MAX_FAILS} fail_timeout={UPSTREAM_FAIL_TIMEOUT};"
            )
        lines.append(f"        keepalive {UPSTREAM_KEEPALIVE};")
        lines.append(f"        keepalive_timeout {UPSTREAM_KEEPALIVE_TIMEOUT};")
        lines.append("    }")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def parse_upstream_args(specs: Sequence[str]) -> dict[str, list[str]]:
    """Turn ["svc=host:port[,host:port]", ...] into {svc: [servers]}; repeats append."""
    result: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, servers = spec.partition("=")
        name = name.strip()
        if not sep or not name or not servers.strip():
            raise RenderError(f"--upstream must look like SERVICE=HOST:PORT[,HOST:PORT], got {spec!r}")
        if name not in SERVICES:
            raise RenderError(f"--upstream {spec!r}: unknown service {name!r} (known: {', '.join(SERVICES)})")
        result.setdefault(name, []).extend(s.strip() for s in servers.split(",") if s.strip())
    return result


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Render the POS gateway nginx.conf from gateway/nginx.conf.template.",
    )
    parser.add_argument("--out", required=True, help="file to write ('-' for stdout)")
    parser.add_argument(
        "--mode",
        choices=("local", "compose"),
        help="local: local-stack upstreams (127.0.0.1:81xx), web root web/dist; "
        f"compose: <svc>:{COMPOSE_PORT} upstreams, web root {COMPOSE_WEB_ROOT}, "
        f"prefix {COMPOSE_PREFIX}, logs to stdout/stderr. Explicit options override.",
    )
    parser.add_argument("--prefix", help="runtime dir for pid, logs and temp files (nginx -p)")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, help="port or addr:port (default 8080)")
    parser.add_argument("--web-root", help="dir of the built web app")
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="SVC=HOST:PORT[,HOST:PORT]",
        help="servers of one service; repeatable; every service needs one (unless --mode)",
    )
    parser.add_argument(
        "--max-body",
        default=DEFAULT_MAX_BODY,
        help="client_max_body_size (default 10m)",
    )
    parser.add_argument("--resolver", help="DNS resolver address(es), e.g. 127.0.0.11 in Docker")
    parser.add_argument(
        "--access-log",
        help="access log path, e.g. /dev/stdout (default <prefix>/access.log)",
    )
    parser.add_argument("--error-log", help="error log path or 'stderr' (default <prefix>/error.log)")
    parser.add_argument("--user", help="nginx `user` directive, e.g. 'www-data' (only used as root)")
    parser.add_argument(
        "--login-rate",
        default=DEFAULT_LOGIN_RATE,
        help="login rate limit (default 10r/s)",
    )
    parser.add_argument(
        "--login-burst",
        type=int,
        default=DEFAULT_LOGIN_BURST,
        help="login burst (default 20)",
    )
    parser.add_argument("--pin-rate", default=DEFAULT_PIN_RATE, help="quick switch / approval rate limit (default 30r/m)")
    parser.add_argument("--pin-burst", type=int, default=DEFAULT_PIN_BURST, help="PIN burst (default 10)")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help=f"an origin allowed to call the API cross-origin, e.g. https://office.example.com; repeatable "
        f"(default: ${CORS_ENV}, comma-separated; none means same-origin only)",
    )
    parser.add_argument(
        "--card-reader-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help=f"a shop's card reader the till may connect to (CSP connect-src), e.g. https://192.168.1.50:8443; "
        f"repeatable (default: ${CARD_READERS_ENV}, comma-separated)",
    )
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=DEFAULT_WORKER_CONNECTIONS,
        help="default 1024",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    prefix: str | Path
    web_root: str | Path
    access_log: str | Path | None
    error_log: str | Path | None
    try:
        explicit = parse_upstream_args(args.upstream)
        if args.mode == "compose":
            upstreams = compose_upstreams()
            prefix = args.prefix or COMPOSE_PREFIX
            web_root = args.web_root or COMPOSE_WEB_ROOT
            # Container convention: logs go to the container's stdout/stderr.
            access_log = args.access_log or "/dev/stdout"
            error_log = args.error_log or "stderr"
        else:
            upstreams = local_stack_upstreams() if args.mode == "local" else {}
            if not args.prefix:
                raise RenderError("--prefix is required (except with --mode compose)")
            # abspath, not resolve(): a symlink such as /dev/stdout must stay as given.
            prefix = os.path.abspath(args.prefix)
            if args.web_root:
                web_root = os.path.abspath(args.web_root)
            elif args.mode == "local":
                web_root = REPO_ROOT / "web" / "dist"
            else:
                raise RenderError("--web-root is required (except with --mode local/compose)")
            access_log = args.access_log
            if access_log and access_log != "stderr":  # render() explains "stderr"
                access_log = os.path.abspath(access_log)
            error_log = args.error_log
            if error_log and error_log != "stderr":
                error_log = os.path.abspath(error_log)
        # An explicit --upstream replaces that service's default from --mode.
        upstreams.update(explicit)
        text = render(
            prefix=prefix,
            web_root=web_root,
            upstreams=upstreams,
            listen=args.listen,
            max_body=args.max_body,
            resolver=args.resolver,
            access_log=access_log,
            error_log=error_log,
            user=args.user,
            login_rate=args.login_rate,
            login_burst=args.login_burst,
            pin_rate=args.pin_rate,
            pin_burst=args.pin_burst,
            cors_origins=args.cors_origin if args.cors_origin is not None else parse_cors_origins(os.environ.get(CORS_ENV)),
            worker_connections=args.worker_connections,
            card_reader_origins=args.card_reader_origin
            if args.card_reader_origin is not None
            else parse_cors_origins(os.environ.get(CARD_READERS_ENV)),
        )
    except RenderError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")

    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if args.mode != "compose":
        # nginx creates its temp dirs but not the prefix itself. (In an image build the
        # prefix belongs to the final stage, so the Dockerfile creates it there.)
        Path(prefix).mkdir(parents=True, exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
