"""A rendered gateway really running: nginx on a free loopback port in front of fake
services (one small stdlib HTTP server per service), stopped again with `nginx -s quit`.

Skipped without an nginx binary, except on CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BIG_JSON = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(200)]}).encode()
MAX_BODY = "64k"  # small, so the 413 test needs no large upload
ALLOWED_ORIGIN = "https://office.example.com"


# --- fake services ----------------------------------------------------------------------


@dataclass
class FakeService:
    """One replica: records what it received and answers with it as JSON."""

    name: str
    close_without_answer: bool = False  # a broken replica: accepts, then hangs up
    seen: list[dict] = field(default_factory=list)
    release_stream: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # so nginx can keep the connection alive
            # Headers and body go out in two writes; without this, Nagle plus delayed
            # ACKs add ~40 ms to every request (and would skew the rate-limit test).
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "request_id": self.headers.get("X-Request-ID"),
                        "trace_id": self.headers.get("X-Trace-ID"),
                        "traceparent": self.headers.get("traceparent"),
                        "forwarded_for": self.headers.get("X-Forwarded-For"),
                        "body_len": len(body),
                    }
                )
                if service.close_without_answer:
                    self.close_connection = True
                    return
                if self.path.endswith("/stream"):
                    self._stream()
                    return
                if "big" in self.path:
                    payload = BIG_JSON
                else:
                    payload = json.dumps({"service": service.name, **service.seen[-1]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Request-ID", "from-the-service")  # must be hidden
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self) -> None:
                # SSE: one event now, the next only once the test has seen the first.
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(f"data: {service.name} one\n\n".encode())
                self.wfile.flush()
                service.release_stream.wait(timeout=10)
                self.wfile.write(b"data: two\n\n")
                self.wfile.flush()
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.release_stream.set()
            self.server.shutdown()
            self.server.server_close()


# --- running nginx ------------------------------------------------------------------------


@dataclass
class Gateway:
    nginx: str
    conf: Path
    prefix: Path
    port: int
    services: dict[str, FakeService]
    process: subprocess.Popen | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def signal(self, name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.nginx, "-s", name, "-p", str(self.prefix), "-c", str(self.conf)],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )

    def access_log_entry(self, request_id: str) -> dict:
        """The access log line of one request. nginx writes it after the response
        went out, so the test may be a moment early: poll briefly."""
        path = self.prefix / "access.log"
        deadline = time.monotonic() + 5
        while True:
            for line in path.read_text().splitlines():
                if line.strip() and json.loads(line)["request_id"] == request_id:
                    return json.loads(line)
            if time.monotonic() > deadline:
                raise AssertionError(f"{request_id} not in the access log")
            time.sleep(0.02)


def _world_readable_tmpdir() -> Path:
    # Started as root, nginx's workers run as `nobody`: pytest's tmp_path (mode 0700,
    # owned by root) would hide the web root and temp dirs from them.
    path = Path(tempfile.mkdtemp(prefix="pos-gateway-"))
    path.chmod(0o755)
    return path


def _wait_for_port(port: int, process: subprocess.Popen, stderr_file: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited at start: {stderr_file.read_text()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.connect()
            return
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    raise AssertionError(f"nginx did not listen on {port}: {stderr_file.read_text()}")


def _running(pid: int) -> bool:
    """True while the process exists and is not a zombie (a daemonised master is
    reaped by init, which may take a while after it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stop(process: subprocess.Popen) -> None:
    """Last resort if `nginx -s quit` did not work: end our master and its workers."""
    if process.poll() is not None:
        return
    workers = _children(process.pid)
    process.terminate()  # SIGTERM: nginx's fast shutdown
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    for pid in workers:  # orphaned workers would keep the port open
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def gateway(render, nginx_bin, get_free_port) -> Iterator[Gateway]:
    base = _world_readable_tmpdir()
    services: dict[str, FakeService] = {}
    process = None
    try:
        for svc in render.SERVICES:
            services[svc] = FakeService(svc)
        # sales: a replica that hangs up on every request, then a healthy one.
        services["sales-broken"] = FakeService("sales-broken", close_without_answer=True)
        for service in services.values():
            service.start()
        upstreams = {svc: [services[svc].address] for svc in render.SERVICES}
        upstreams["sales"] = [
            services["sales-broken"].address,
            services["sales"].address,
        ]
        # payments: nothing listens there, to see the JSON 502.
        upstreams["payments"] = [f"127.0.0.1:{get_free_port()}"]
        # inventory: a replica that is down (nothing listens) and a healthy one.
        upstreams["inventory"] = [f"127.0.0.1:{get_free_port()}", services["inventory"].address]

        web = base / "web"
        (web / "assets").mkdir(parents=True)
        (web / "index.html").write_text("<!doctype html><title>POS</title>\n")
        (web / "assets" / "app-1234.js").write_text("console.log('pos');\n" * 200)
        (web / "sw.js").write_text("self.addEventListener('fetch', () => {});\n")
        (web / "manifest.webmanifest").write_text('{"name": "POS"}\n')
        prefix = base / "run"
        prefix.mkdir()
        port = get_free_port()
        conf = base / "nginx.conf"
        text = render.render(
            prefix=prefix,
            web_root=web,
            upstreams=upstreams,
            listen=f"127.0.0.1:{port}",
            max_body=MAX_BODY,
            cors_origins=[ALLOWED_ORIGIN],
        )
        # Keep the broken replica in rotation (no failure accounting), so the POST test
        # below reaches it for sure instead of finding it parked for fail_timeout.
        broken = f"server {services['sales-broken'].address} max_fails=3 fail_timeout=2s;"
        assert broken in text
        text = text.replace(broken, f"server {services['sales-broken'].address} max_fails=0;")
        conf.write_text(text)
        stderr_file = base / "nginx.stderr"
        with stderr_file.open("w") as stderr:
            # Foreground, so this test owns the master's pid; `-s quit` still works.
            process = subprocess.Popen(
                [nginx_bin, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        gw = Gateway(nginx_bin, conf, prefix, port, services, process)
        _wait_for_port(port, process, stderr_file)
        yield gw
        # The real stop path, checked here since every test depends on it.
        result = gw.signal("quit")
        assert result.returncode == 0, result.stderr
        process.wait(timeout=15)
        assert not (prefix / "nginx.pid").exists()
    finally:
        if process is not None:
            _stop(process)
        for service in services.values():
            service.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- tests -------------------------------------------------------------------------------


def test_each_service_gets_its_path_unchanged(gateway):
    for svc in ("identity", "catalog", "inventory", "sales", "reports"):
        response, body = gateway.request("GET", f"/api/{svc}/v1/things?q=a%20b&x=1")
        assert response.status == 200, (svc, body)
        data = json.loads(body)
        assert data["service"] == svc
        assert data["path"] == f"/api/{svc}/v1/things?q=a%20b&x=1"
        assert data["forwarded_for"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/items", "catalog"),
        ("/api/items/42", "catalog"),
        ("/api/sales", "sales"),
        ("/api/inventory", "inventory"),
    ],
)
def test_legacy_paths(gateway, path, service):
    response, body = gateway.request("GET", path)
    assert response.status == 200, body
    data = json.loads(body)
    assert (data["service"], data["path"]) == (service, path)


def test_request_id_generated_passed_on_and_logged(gateway):
    response, body = gateway.request("GET", "/api/catalog/products")
    request_id = response.getheader("X-Request-ID")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert json.loads(body)["request_id"] == request_id
    # The service's own X-Request-ID is hidden: exactly one, the gateway's.
    assert response.msg.get_all("X-Request-ID") == [request_id]

    entry = gateway.access_log_entry(request_id)
    assert entry["method"] == "GET"
    assert entry["uri"] == "/api/catalog/products"
    assert entry["status"] == 200
    assert entry["upstream_addr"] == gateway.services["catalog"].address
    assert isinstance(entry["request_time"], float)
    assert set(entry) >= {"time", "bytes", "upstream_response_time"}


def test_request_id_from_the_caller_is_kept(gateway):
    response, body = gateway.request("GET", "/api/catalog/products", headers={"X-Request-ID": "till-7:abc-123"})
    assert response.getheader("X-Request-ID") == "till-7:abc-123"
    assert json.loads(body)["request_id"] == "till-7:abc-123"


def test_the_gateway_names_the_trace_and_logs_its_id(gateway):
    """No span from nginx (ADR 0070), but one trace id per request, in the access log and
    sent to the service: nginx's own when the caller sent no usable traceparent (the
    service's root span takes it), the caller's when it did (passed through)."""
    response, body = gateway.request("GET", "/api/catalog/products", headers={"X-Trace-ID": "a" * 32})
    seen = json.loads(body)
    assert re.fullmatch(r"[0-9a-f]{32}", seen["trace_id"]) and seen["trace_id"] != "a" * 32
    assert seen["traceparent"] is None
    assert gateway.access_log_entry(response.getheader("X-Request-ID"))["trace_id"] == seen["trace_id"]

    traceparent = f"00-{'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01"
    response, body = gateway.request(
        "GET", "/api/catalog/products", headers={"traceparent": traceparent, "X-Request-ID": "till-7:trace"}
    )
    seen = json.loads(body)
    assert (seen["trace_id"], seen["traceparent"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", traceparent)
    assert gateway.access_log_entry("till-7:trace")["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"

    # A traceparent the services would refuse (an all-zero trace id) does not name the trace.
    zero = f"00-{'0' * 32}-00f067aa0ba902b7-01"
    response, body = gateway.request("GET", "/api/catalog/products", headers={"traceparent": zero})
    assert json.loads(body)["trace_id"] not in ("0" * 32, None)


def test_odd_request_id_is_replaced(gateway):
    response, body = gateway.request("GET", "/api/catalog/products", headers={"X-Request-ID": "x" * 200})
    request_id = response.getheader("X-Request-ID")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert json.loads(body)["request_id"] == request_id


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Permitted-Cross-Domain-Policies": "none",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),  # static, no-cache location
        ("GET", "/assets/app-1234.js", 200),  # static, long-cache location
        ("GET", "/api/catalog/x", 200),  # proxied
        ("GET", "/api/nosuchservice/x", 404),  # gateway's JSON 404
        ("GET", "/api/payments/x", 502),  # error page
        ("GET", "/healthz", 200),
    ],
)
def test_security_headers_on_every_response(gateway, method, path, status):
    response, _ = gateway.request(method, path)
    assert response.status == status
    for name, value in SECURITY_HEADERS.items():
        assert response.getheader(name) == value, name
    csp = response.getheader("Content-Security-Policy")
    for part in (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ):
        assert part in csp
    assert "microphone=()" in response.getheader("Permissions-Policy")
    # No CORS header without an Origin on the allow-list.
    assert response.getheader("Access-Control-Allow-Origin") is None
    assert response.getheader("Server") == "nginx"  # server_tokens off: no version


def test_login_rate_limit_answers_429_json(gateway):
    # 10 r/s with a burst of 20: a fast loop is refused after ~21 requests. Stop at the
    # first refusal, so a slow machine (tokens refilling meanwhile) only loops longer.
    statuses = []
    last_429 = None
    for _ in range(200):
        response, body = gateway.request(
            "POST",
            "/api/identity/login",
            body=b"{}",
            headers={"Content-Type": "application/json"},
        )
        statuses.append(response.status)
        if response.status == 429:
            last_429 = (response, body)
            break
    assert last_429 is not None, statuses
    assert set(statuses[:-1]) == {200}
    assert len(statuses) > 20  # the burst was let through
    response, body = last_429
    assert response.getheader("Content-Type").startswith("application/json")
    assert json.loads(body) == {"detail": "too many requests, slow down"}
    assert response.getheader("X-Frame-Options") == "DENY"
    # Other identity paths are not limited.
    assert gateway.request("GET", "/api/identity/me")[0].status == 200


def test_unreachable_service_gives_json_502(gateway):
    response, body = gateway.request("GET", "/api/payments/v1/payments")
    assert response.status == 502
    assert response.getheader("Content-Type").startswith("application/json")
    assert json.loads(body) == {"detail": "service unavailable, try again"}


def test_failed_replica_retried_for_get_never_for_post(gateway):
    broken, healthy = gateway.services["sales-broken"], gateway.services["sales"]
    for _ in range(8):
        response, body = gateway.request("GET", "/api/sales/v1/sales")
        assert response.status == 200, body  # a GET that hit the broken one is retried
    statuses = [gateway.request("POST", "/api/sales/v1/sales", body=b"{}")[0].status for _ in range(8)]
    assert set(statuses) <= {200, 502}

    def post_ids(service: FakeService) -> set[str]:
        return {s["request_id"] for s in service.seen if s["method"] == "POST"}

    # Round robin sends some POSTs to the broken replica: those are answered 502 and
    # never re-sent to the healthy one (no double sale).
    assert post_ids(broken), "no POST reached the broken replica: test proves nothing"
    assert statuses.count(502) == len(post_ids(broken))
    assert not post_ids(broken) & post_ids(healthy)
    assert any(s["method"] == "GET" for s in broken.seen)


def test_a_dead_replica_is_skipped_and_one_error_does_not_take_the_service_out(gateway):
    """inventory: replica 1 is down, replica 2 is healthy. A POST that could not connect
    to the dead one was never sent, so it moves on to the healthy one; and when the
    healthy one then fails once (it hangs up on one request), the service stays in:
    nginx's default (one failure takes a replica out for 10 s) left no live replica and
    answered every request in between 502 at once."""
    healthy = gateway.services["inventory"]
    for _ in range(6):
        response, body = gateway.request("POST", "/api/inventory/reservations", body=b"{}")
        assert response.status == 200, body
    healthy.close_without_answer = True
    try:
        response, _ = gateway.request("GET", "/api/inventory/levels")
        assert response.status == 502  # its one error, answered as such
    finally:
        healthy.close_without_answer = False
    statuses = [gateway.request("GET", "/api/inventory/levels")[0].status for _ in range(6)]
    assert statuses == [200] * 6


def test_body_size_limit(gateway):
    response, body = gateway.request("POST", "/api/catalog/upload", body=b"x" * 100_000)
    assert response.status == 413
    assert json.loads(body) == {"detail": "request body too large"}
    response, _ = gateway.request("POST", "/api/catalog/upload", body=b"x" * 30_000)
    assert response.status == 200


def test_product_image_upload_route_takes_6_mb_and_only_it(gateway):
    """The API's limit here is 64k; a product image (catalog takes 5 MB) still gets
    through on its own route, a bigger body is the gateway's JSON 413, and the product
    itself keeps the small limit."""
    response, body = gateway.request("PUT", "/api/catalog/products/p-1/image", body=b"x" * 5_500_000)
    assert response.status == 200, body[:200]
    assert json.loads(body)["path"] == "/api/catalog/products/p-1/image"
    response, body = gateway.request("PUT", "/api/catalog/products/p-1/image", body=b"x" * 6_500_000)
    assert response.status == 413
    assert json.loads(body) == {"detail": "request body too large"}
    response, _ = gateway.request("PUT", "/api/catalog/products/p-1", body=b"x" * 100_000)
    assert response.status == 413


def test_static_web_app(gateway):
    response, body = gateway.request("GET", "/")
    assert response.status == 200 and b"<title>POS</title>" in body
    assert response.getheader("Cache-Control") == "no-cache"

    response, body = gateway.request("GET", "/sales/today")  # client-side route
    assert response.status == 200 and b"<title>POS</title>" in body
    assert response.getheader("Cache-Control") == "no-cache"

    response, _ = gateway.request("GET", "/assets/app-1234.js")
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("application/javascript")
    assert response.getheader("Cache-Control") == "max-age=31536000"

    response, _ = gateway.request("GET", "/assets/missing.js")
    assert response.status == 404


def test_service_worker_and_manifest_are_revalidated(gateway):
    # The till's service worker (web/vite.config.ts) keeps its name across deploys: a
    # long cache would keep tills on an old app shell.
    response, body = gateway.request("GET", "/sw.js")
    assert response.status == 200 and b"addEventListener" in body
    assert response.getheader("Content-Type").startswith("application/javascript")
    assert response.getheader("Cache-Control") == "no-cache"
    response, _ = gateway.request("GET", "/manifest.webmanifest")
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("application/manifest+json")
    assert response.getheader("Cache-Control") == "no-cache"
    # Security headers still there (no add_header in these locations).
    assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_gzip_for_json_and_js(gateway):
    for path in ("/api/reports/big", "/assets/app-1234.js"):
        response, body = gateway.request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert response.getheader("Content-Encoding") == "gzip", path
        assert gzip.decompress(body)


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("reports", "/api/reports/v1/live/stream"),
        ("inventory", "/api/inventory/events/stream"),
    ],
)
def test_server_sent_events_are_not_buffered(gateway, service, path):
    fake = gateway.services[service]
    fake.release_stream.clear()
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        # The first event arrives while the service still holds the second one back;
        # a buffering proxy would sit on it (and this read would time out).
        assert response.readline() == f"data: {service} one\n".encode()
        assert response.readline() == b"\n"
        fake.release_stream.set()
        assert response.readline() == b"data: two\n"
    finally:
        fake.release_stream.set()
        conn.close()
    assert fake.seen[-1]["path"] == path


def test_daemonised_nginx_stops_with_quit(render, nginx_bin, get_free_port):
    """How the local stack runs it: `nginx -p P -c C` (daemon), then `nginx -s quit`."""
    base = _world_readable_tmpdir()
    pid = None
    try:
        prefix, web = base / "run", base / "web"
        prefix.mkdir()
        web.mkdir()
        port = get_free_port()
        conf = base / "nginx.conf"
        upstreams = {svc: [f"127.0.0.1:{get_free_port()}"] for svc in render.SERVICES}
        conf.write_text(
            render.render(
                prefix=prefix,
                web_root=web,
                upstreams=upstreams,
                listen=f"127.0.0.1:{port}",
            )
        )
        start = subprocess.run(
            [nginx_bin, "-p", str(prefix), "-c", str(conf)],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert start.returncode == 0, start.stderr
        pid = int((prefix / "nginx.pid").read_text())
        assert Gateway(nginx_bin, conf, prefix, port, {}).request("GET", "/healthz")[0].status == 200

        stop = subprocess.run(
            [nginx_bin, "-s", "quit", "-p", str(prefix), "-c", str(conf)],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert stop.returncode == 0, stop.stderr
        deadline = time.monotonic() + 15
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(pid), "nginx master still running after quit"
        pid = None
        with pytest.raises(OSError):
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
    finally:
        if pid is not None and _running(pid):  # failed half-way: end the master it started
            for child in _children(pid):
                os.kill(child, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


# --- hardening added with issue 6 ----------------------------------------------------------


def test_cors_allows_only_listed_origins(gateway):
    response, _ = gateway.request("GET", "/api/catalog/products", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert response.getheader("Access-Control-Allow-Credentials") == "true"
    assert response.getheader("Access-Control-Expose-Headers") == "X-Request-ID"
    assert "Origin" in response.msg.get_all("Vary")
    assert response.getheader("Access-Control-Allow-Methods") is None  # preflight only

    for origin in ("https://evil.example", "https://office.example.com.evil.example", "null", "http://office.example.com"):
        response, _ = gateway.request("GET", "/api/catalog/products", headers={"Origin": origin})
        assert response.status == 200  # the browser, not nginx, withholds the answer
        assert response.getheader("Access-Control-Allow-Origin") is None, origin
        assert response.getheader("Access-Control-Allow-Credentials") is None, origin


def test_cors_preflight(gateway):
    headers = {
        "Origin": ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    response, _ = gateway.request("OPTIONS", "/api/sales/sales", headers=headers)
    assert response.status == 204
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "POST" in response.getheader("Access-Control-Allow-Methods")
    assert "Authorization" in response.getheader("Access-Control-Allow-Headers")
    assert response.getheader("X-Frame-Options") == "DENY"
    response, _ = gateway.request("OPTIONS", "/api/sales/sales", headers={**headers, "Origin": "https://evil.example"})
    assert response.status != 204
    assert response.getheader("Access-Control-Allow-Origin") is None


def test_login_and_pin_bodies_are_small(gateway):
    for path in ("/api/identity/login", "/api/identity/switch", "/api/identity/approvals"):
        response, body = gateway.request("POST", path, body=b"x" * 9000, headers={"Content-Type": "application/json"})
        assert response.status == 413, path
        assert json.loads(body) == {"detail": "request body too large"}


def test_pin_endpoints_have_a_tighter_rate_limit(gateway):
    # 30 r/min with a burst of 10: a fast loop is refused after about 11 requests.
    statuses = [gateway.request("POST", "/api/identity/approvals", body=b"{}")[0].status for _ in range(25)]
    assert 429 in statuses, statuses
    assert 10 <= statuses.index(429) <= 13, statuses
    # The access token refresh is not limited (a 256-bit secret is not guessable).
    assert gateway.request("POST", "/api/identity/refresh", body=b"")[0].status == 200


def test_service_metrics_are_not_exposed(gateway):
    for svc in ("identity", "sales"):
        response, body = gateway.request("GET", f"/api/{svc}/metrics")
        assert response.status == 404
        assert json.loads(body) == {"detail": "not found"}
    assert gateway.request("GET", "/api/sales/metrics/extra")[0].status == 200  # only the exact path
