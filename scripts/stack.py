#!/usr/bin/env python3
"""The local stack: every service as its own uvicorn process (two replicas of inventory
and sales), real MariaDB (one database per service), real RabbitMQ, and nginx from
Debian's package running the project's gateway config. Same topology as compose.yaml.

    python scripts/stack.py up      # installs what it lacks, starts, waits until ready
    python scripts/stack.py status
    python scripts/stack.py down
    python scripts/stack.py restart inventory-1   # one process again (after a crash)

POS_STACK_DB_HOST / POS_STACK_DB_PORT, POS_STACK_RABBIT_HOST / POS_STACK_RABBIT_PORT and
POS_STACK_RABBIT_NODE (rabbitmqctl -n) point it at other servers than the local defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gateway"))

SERVICES = ("identity", "catalog", "inventory", "sales", "payments", "reports")
REPLICAS = {"inventory": 2, "sales": 2}
SANDBOX = "card-sandbox"
READER_SANDBOX = "reader-sandbox"
RATES_SANDBOX = "rates-sandbox"
MAIL_SINK = "mail-sink"
TAX_SANDBOX = "tax-sandbox"
TRACE_SINK = "trace-sink"
RATES_DOCUMENT = "/stats/eurofxref/eurofxref-daily.xml"
PORT_OFFSET = {"identity": 1, "catalog": 2, "inventory": 3, "sales": 4, "payments": 5, "reports": 6}


@dataclass(frozen=True)
class Config:
    state_dir: Path
    gateway_port: int
    port_base: int  # instance port = port_base + offset + 10 * replica (8100 -> 8101, 8113, ...)
    db_prefix: str
    db_host: str
    db_port: int
    vhost: str
    rabbit_host: str
    rabbit_port: int = 5672
    rabbit_node: str | None = None  # rabbitmqctl -n <node>; None: the local default node
    replicas: tuple[tuple[str, int], ...] = tuple(REPLICAS.items())  # instances per service (1 if not named)

    def ports(self, service: str) -> list[int]:
        return [self.port_base + PORT_OFFSET[service] + 10 * i for i in range(dict(self.replicas).get(service, 1))]

    def database(self, service: str) -> str:
        return f"{self.db_prefix}{service}"

    def database_url(self, service: str) -> str:
        return f"mysql+pymysql://root@{self.db_host}:{self.db_port}/{self.database(service)}"

    @property
    def sandbox_port(self) -> int:
        return self.port_base + 30

    @property
    def rates_sandbox_port(self) -> int:
        return self.port_base + 32  # not +31: the crash test runs a sales instance on the gateway port + 51 (port base + 31)

    @property
    def reader_sandbox_port(self) -> int:
        return self.port_base + 36

    @property
    def mail_sink_port(self) -> int:
        return self.port_base + 33

    @property
    def tax_sandbox_port(self) -> int:
        return self.port_base + 34

    @property
    def trace_sink_port(self) -> int:
        return self.port_base + 37

    @property
    def traces_file(self) -> Path:
        """Where the stack's trace sink appends the spans it received (JSON lines)."""
        return self.state_dir / "traces.jsonl"

    @property
    def mail_dir(self) -> Path:
        """Where the stack's mail sink keeps what it received (.eml files)."""
        return self.state_dir / "mail"

    @property
    def rabbitmq_url(self) -> str:
        vhost = "%2F" if self.vhost == "/" else self.vhost
        return f"amqp://guest:guest@{self.rabbit_host}:{self.rabbit_port}/{vhost}"

    def rabbitmqctl(self, *args: str) -> list[str]:
        """A rabbitmqctl command line aimed at the stack's node."""
        return ["rabbitmqctl", *(["-n", self.rabbit_node] if self.rabbit_node else []), *args]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


# --- prerequisites -----------------------------------------------------------------------


def port_open(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise SystemExit(f"[stack] timed out waiting for {what}")


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"[stack] missing {' '.join(packages)}: run as root or `sudo apt-get install -y {' '.join(packages)}`")
    log(f"installing {' '.join(packages)} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path is None:
        apt_install("nginx")
        path = shutil.which("nginx") or "/usr/sbin/nginx"
    return path


def ensure_mariadb(cfg: Config) -> None:
    if port_open(cfg.db_host, cfg.db_port):
        return
    if not shutil.which("mariadbd") and not Path("/usr/sbin/mariadbd").exists():
        apt_install("mariadb-server")
    log("starting MariaDB")
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"], check=False)
    wait_for(lambda: port_open(cfg.db_host, cfg.db_port), f"MariaDB on port {cfg.db_port}")


def ensure_rabbitmq(cfg: Config) -> None:
    if not port_open(cfg.rabbit_host, cfg.rabbit_port):
        if not shutil.which("rabbitmq-server"):
            apt_install("rabbitmq-server")
        log("starting RabbitMQ")
        subprocess.run(["rabbitmq-server", "-detached"], check=False)
        wait_for(lambda: port_open(cfg.rabbit_host, cfg.rabbit_port), f"RabbitMQ on port {cfg.rabbit_port}", timeout=120)
    if cfg.vhost != "/":
        subprocess.run(cfg.rabbitmqctl("-q", "add_vhost", cfg.vhost), capture_output=True)
        subprocess.run(
            cfg.rabbitmqctl("-q", "set_permissions", "-p", cfg.vhost, "guest", ".*", ".*", ".*"), check=True, capture_output=True
        )


def reset_rabbitmq_vhost(cfg: Config) -> None:
    if cfg.vhost == "/":
        raise SystemExit("[stack] --fresh needs a dedicated --vhost (it deletes the vhost's queues)")
    subprocess.run(cfg.rabbitmqctl("-q", "delete_vhost", cfg.vhost), capture_output=True)


def prepare_databases(cfg: Config, fresh: bool) -> None:
    import pymysql

    conn = pymysql.connect(host=cfg.db_host, port=cfg.db_port, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            # A process per replica, each with its own pool: 151 (the default) runs out
            # when several stacks share one server (test stacks, benchmarks).
            cur.execute("SET GLOBAL max_connections = GREATEST(@@max_connections, 500)")
            for service in SERVICES:
                if fresh:
                    cur.execute(f"DROP DATABASE IF EXISTS `{cfg.database(service)}`")
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{cfg.database(service)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
    finally:
        conn.close()


# --- processes ---------------------------------------------------------------------------


def service_env(cfg: Config, service: str) -> dict[str, str]:
    keys = cfg.state_dir / "keys"
    env = {
        **os.environ,
        "POS_ENVIRONMENT": "development",
        "POS_DATABASE_URL": cfg.database_url(service),
        "POS_BUS": "rabbitmq",
        "POS_RABBITMQ_URL": cfg.rabbitmq_url,
        "POS_JWT_PUBLIC_KEY_FILE": str(keys / "jwt-public.pem"),
        "POS_JWT_PRIVATE_KEY_FILE": str(keys / "jwt-private.pem"),
        "POS_ADMIN_CREDENTIALS_FILE": str(cfg.state_dir / "admin-credentials.txt"),
        # The synchronous hops go straight to the services' replicas through the gateway.
        "POS_INVENTORY_URL": cfg.gateway_url,
        "POS_PAYMENTS_URL": cfg.gateway_url,
        # Card payments go to the project's sandbox processor (a separate process, HTTP).
        "POS_CARD_PROVIDER": os.environ.get("POS_CARD_PROVIDER", "sandbox"),
        "POS_CARD_SANDBOX_URL": os.environ.get("POS_CARD_SANDBOX_URL") or f"http://127.0.0.1:{cfg.sandbox_port}",
        # Card readers (ADR 0073): payments captures at the reader sandbox's acquirer face.
        "POS_CARD_READER": os.environ.get("POS_CARD_READER", "sandbox"),
        "POS_CARD_READER_ACQUIRER_URL": os.environ.get("POS_CARD_READER_ACQUIRER_URL")
        or f"http://127.0.0.1:{cfg.reader_sandbox_port}",
        # Exchange rates from the project's rates sandbox (the ECB's document, its own process).
        "POS_RATES_PROVIDER": os.environ.get("POS_RATES_PROVIDER", "sandbox"),
        "POS_RATES_SANDBOX_URL": os.environ.get("POS_RATES_SANDBOX_URL")
        or f"http://127.0.0.1:{cfg.rates_sandbox_port}{RATES_DOCUMENT}",
        # Receipts by e-mail go to the stack's SMTP sink (scripts/mail_sink.py, its own
        # process) unless POS_SMTP_HOST names a mail server.
        **(
            {}
            if os.environ.get("POS_SMTP_HOST")
            else {"POS_SMTP_HOST": "127.0.0.1", "POS_SMTP_PORT": str(cfg.mail_sink_port), "POS_SMTP_TLS": "none"}
        ),
        "POS_SMTP_FROM": os.environ.get("POS_SMTP_FROM") or "POS receipts <receipts@pos.localhost>",
        # The tax API: the project's tax sandbox (its own process, port base + 34) when
        # configured (tax_sandbox_wanted); else whatever POS_TAX_API_URL names, or none.
        **({"POS_TAX_API_URL": f"http://127.0.0.1:{cfg.tax_sandbox_port}"} if tax_sandbox_wanted() else {}),
        # Traces (ADR 0070): to the stack's trace sink when POS_TRACE_SINK=1, else to
        # whatever collector POS_OTLP_ENDPOINT names, or none.
        **({"POS_OTLP_ENDPOINT": f"http://127.0.0.1:{cfg.trace_sink_port}"} if trace_sink_wanted() else {}),
        "PYTHONUNBUFFERED": "1",
    }
    return env


def migrate(cfg: Config) -> None:
    def run(service: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "pos_platform.migrate", service], env=service_env(cfg, service), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"[stack] migrating {service} failed:\n{result.stderr[-3000:]}")

    with ThreadPoolExecutor(len(SERVICES)) as pool:
        list(pool.map(run, SERVICES))
    log("migrations applied")


def pid_file(cfg: Config, name: str) -> Path:
    return cfg.state_dir / "pids" / f"{name}.pid"


def start_service(cfg: Config, service: str, port: int, replica: int) -> None:
    start_process(
        cfg,
        f"{service}-{replica}",
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"pos_{service}.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        service_env(cfg, service) | {"POS_INSTANCE_ID": f"{service}-{replica}"},
    )


def start_card_sandbox(cfg: Config) -> None:
    """The sandbox card processor (outside the project in real life: a test double that
    speaks the provider's HTTP API). Skipped when POS_CARD_SANDBOX_URL names another one."""
    if os.environ.get("POS_CARD_SANDBOX_URL"):
        return
    start_process(
        cfg,
        SANDBOX,
        [sys.executable, "-m", "pos_payments.sandbox", "--port", str(cfg.sandbox_port)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for(lambda: http_ok(f"http://127.0.0.1:{cfg.sandbox_port}/healthz"), "the card sandbox", 30)


def start_reader_sandbox(cfg: Config) -> None:
    """The card reader sandbox (ADR 0073): a shop's card terminal on the LAN (the till
    speaks to its /nexo) and its acquirer (payments captures there). Skipped when
    POS_CARD_READER_ACQUIRER_URL names another one."""
    if os.environ.get("POS_CARD_READER_ACQUIRER_URL"):
        return
    start_process(
        cfg,
        READER_SANDBOX,
        [sys.executable, "-m", "pos_payments.reader_sandbox", "--port", str(cfg.reader_sandbox_port)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for(lambda: http_ok(f"http://127.0.0.1:{cfg.reader_sandbox_port}/healthz"), "the card reader sandbox", 30)


def start_rates_sandbox(cfg: Config) -> None:
    """The rates sandbox: the ECB's eurofxref-daily.xml with made-up rates and failures
    on demand (PUT /sandbox/failure). Skipped when POS_RATES_SANDBOX_URL names another."""
    if os.environ.get("POS_RATES_SANDBOX_URL"):
        return
    start_process(
        cfg,
        RATES_SANDBOX,
        [sys.executable, "-m", "pos_payments.rates_sandbox", "--port", str(cfg.rates_sandbox_port)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for(lambda: http_ok(f"http://127.0.0.1:{cfg.rates_sandbox_port}/healthz"), "the rates sandbox", 30)


def tax_sandbox_wanted() -> bool:
    """The tax sandbox runs only when configured: POS_TAX_SANDBOX=1, or
    POS_TAX_PROVIDER=external with no POS_TAX_API_URL naming a real tax API."""
    if os.environ.get("POS_TAX_API_URL"):
        return False
    return os.environ.get("POS_TAX_SANDBOX") == "1" or os.environ.get("POS_TAX_PROVIDER") == "external"


def start_tax_sandbox(cfg: Config) -> None:
    """The tax sandbox: a tax calculation API with made-up jurisdictions and failures on
    demand (PUT /sandbox/failure), for sales' external tax provider (ADR 0064)."""
    if not tax_sandbox_wanted():
        return
    start_process(
        cfg,
        TAX_SANDBOX,
        [sys.executable, "-m", "pos_sales.tax_sandbox", "--port", str(cfg.tax_sandbox_port)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for(lambda: http_ok(f"http://127.0.0.1:{cfg.tax_sandbox_port}/healthz"), "the tax sandbox", 30)


def trace_sink_wanted() -> bool:
    """The trace sink runs when asked for (POS_TRACE_SINK=1) and no collector is named."""
    return os.environ.get("POS_TRACE_SINK") == "1" and not os.environ.get("POS_OTLP_ENDPOINT")


def start_trace_sink(cfg: Config) -> None:
    """The OTLP/HTTP trace sink standing in for a collector: appends every span it gets
    to <state dir>/traces.jsonl (scripts/otlp_sink.py)."""
    if not trace_sink_wanted():
        return
    start_process(
        cfg,
        TRACE_SINK,
        [
            sys.executable,
            str(ROOT / "scripts" / "otlp_sink.py"),
            "--port",
            str(cfg.trace_sink_port),
            "--file",
            str(cfg.traces_file),
        ],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for(lambda: http_ok(f"http://127.0.0.1:{cfg.trace_sink_port}/healthz"), "the trace sink", 30)


def start_mail_sink(cfg: Config) -> None:
    """The SMTP sink standing in for the shop's mail server: keeps each message in
    <state dir>/mail. Skipped when POS_SMTP_HOST names a mail server."""
    if os.environ.get("POS_SMTP_HOST"):
        return
    start_process(
        cfg,
        MAIL_SINK,
        [sys.executable, str(ROOT / "scripts" / "mail_sink.py"), "--port", str(cfg.mail_sink_port), "--dir", str(cfg.mail_dir)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for(lambda: port_open("127.0.0.1", cfg.mail_sink_port), "the mail sink", 30)


def start_process(cfg: Config, name: str, argv: list[str], env: dict[str, str]) -> None:
    log_path = cfg.state_dir / "logs" / f"{name}.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=ROOT,
        )
    pid_file(cfg, name).write_text(str(proc.pid))


def render_gateway(cfg: Config) -> Path:
    import render  # gateway/render.py

    prefix = cfg.state_dir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    upstreams = {s: [f"127.0.0.1:{p}" for p in cfg.ports(s)] for s in SERVICES}
    web_root = ROOT / "web" / "dist"
    if not (web_root / "index.html").exists():
        web_root = ROOT / "web" / "placeholder"
    conf = prefix / "nginx.conf"
    # As root, nginx's workers would run as nobody and could not read a checkout under /root.
    user = "root" if os.geteuid() == 0 else None
    conf.write_text(
        render.render(
            prefix=str(prefix),
            listen=str(cfg.gateway_port),
            web_root=str(web_root),
            upstreams=upstreams,
            user=user,
            # The till's page may reach the stack's card reader sandbox (ADR 0073).
            card_reader_origins=[f"http://127.0.0.1:{cfg.reader_sandbox_port}"],
        )
    )
    return conf


def start_gateway(cfg: Config) -> None:
    nginx = nginx_binary()
    conf = render_gateway(cfg)
    prefix = cfg.state_dir / "nginx"
    test = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True)
    if test.returncode != 0:
        raise SystemExit(f"[stack] nginx config invalid:\n{test.stderr}")
    subprocess.run([nginx, "-p", str(prefix), "-c", str(conf)], check=True)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def readiness(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return {}


def up(cfg: Config, fresh: bool) -> None:
    if any(pid_alive(p) for p in pids(cfg).values()):
        log("already running; use `down` first (status below)")
        status(cfg)
        return
    for sub in ("logs", "pids", "keys"):
        (cfg.state_dir / sub).mkdir(parents=True, exist_ok=True)
    nginx_binary()
    ensure_mariadb(cfg)
    if fresh and cfg.vhost != "/":
        reset_rabbitmq_vhost(cfg)
    ensure_rabbitmq(cfg)
    prepare_databases(cfg, fresh)
    if fresh:
        (cfg.state_dir / "admin-credentials.txt").unlink(missing_ok=True)
        cfg.traces_file.unlink(missing_ok=True)
    from pos_platform.keys import ensure_keypair

    ensure_keypair(str(cfg.state_dir / "keys" / "jwt-private.pem"), str(cfg.state_dir / "keys" / "jwt-public.pem"))
    migrate(cfg)
    start_card_sandbox(cfg)
    start_reader_sandbox(cfg)
    start_rates_sandbox(cfg)
    start_tax_sandbox(cfg)
    start_mail_sink(cfg)
    start_trace_sink(cfg)
    for service in SERVICES:
        for replica, port in enumerate(cfg.ports(service)):
            start_service(cfg, service, port, replica)
    start_gateway(cfg)
    instances = [(s, p) for s in SERVICES for p in cfg.ports(s)]
    try:
        wait_for(
            lambda: all(readiness(f"http://127.0.0.1:{p}/readyz").get("ready") for _, p in instances), "every service ready", 90
        )
        wait_for(lambda: http_ok(f"{cfg.gateway_url}/api/identity/healthz"), "the gateway", 30)
    except SystemExit:
        for service, port in instances:
            log(f"{service}:{port} readiness: {readiness(f'http://127.0.0.1:{port}/readyz') or 'no answer'}")
        log(f"logs: {cfg.state_dir / 'logs'}")
        raise
    log(f"ready: {cfg.gateway_url}/  (APIs under /api/<service>/, docs at /api/<service>/docs)")
    log(f"logs: {cfg.state_dir / 'logs'}   admin log-in: {cfg.state_dir / 'admin-credentials.txt'}")


def pids(cfg: Config) -> dict[str, int]:
    found = {}
    for path in sorted((cfg.state_dir / "pids").glob("*.pid")):
        try:
            found[path.stem] = int(path.read_text().strip())
        except ValueError:
            path.unlink()
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def down(cfg: Config) -> None:
    nginx_pid = cfg.state_dir / "nginx" / "nginx.pid"
    if nginx_pid.exists():
        try:
            os.kill(int(nginx_pid.read_text().strip()), signal.SIGQUIT)
        except (ProcessLookupError, ValueError):
            pass
    running = pids(cfg)
    for pid in running.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(pid_alive(p) for p in running.values()):
        time.sleep(0.2)
    for name, pid in running.items():
        if pid_alive(pid):
            log(f"{name} did not stop in time; killing it")
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pid_file(cfg, name).unlink(missing_ok=True)
    log("stopped")


def stop_process(cfg: Config, name: str, pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.2)
    if pid_alive(pid):
        log(f"{name} did not stop in time; killing it")
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def restart(cfg: Config, name: str | None) -> None:
    """Start one process of a running stack again (after a crash, or to pick up a change),
    exactly as `up` starts it, and wait until it is ready. A live one is stopped first."""
    instances = {f"{s}-{i}": (s, i, p) for s in SERVICES for i, p in enumerate(cfg.ports(s))}
    if name not in (*instances, SANDBOX, READER_SANDBOX, RATES_SANDBOX, TAX_SANDBOX, MAIL_SINK, TRACE_SINK):
        raise SystemExit(
            f"[stack] restart what? one of: {', '.join([*instances, SANDBOX, READER_SANDBOX, RATES_SANDBOX, TAX_SANDBOX, MAIL_SINK, TRACE_SINK])}"
        )
    pid = pids(cfg).get(name)
    if pid is not None and pid_alive(pid):
        stop_process(cfg, name, pid)
    if name in (SANDBOX, READER_SANDBOX, RATES_SANDBOX, TAX_SANDBOX, MAIL_SINK, TRACE_SINK):
        starters = {
            SANDBOX: start_card_sandbox,
            READER_SANDBOX: start_reader_sandbox,
            RATES_SANDBOX: start_rates_sandbox,
            TAX_SANDBOX: start_tax_sandbox,
            TRACE_SINK: start_trace_sink,
        }
        starters.get(name, start_mail_sink)(cfg)
        log(f"{name} restarted")
        return
    service, replica, port = instances[name]
    start_service(cfg, service, port, replica)
    wait_for(lambda: bool(readiness(f"http://127.0.0.1:{port}/readyz").get("ready")), f"{name} ready", 90)
    log(f"{name} restarted on port {port}")


def status(cfg: Config) -> None:
    for name, pid in pids(cfg).items():
        if name in (SANDBOX, READER_SANDBOX, RATES_SANDBOX, TAX_SANDBOX, MAIL_SINK, TRACE_SINK):
            port = {
                SANDBOX: cfg.sandbox_port,
                READER_SANDBOX: cfg.reader_sandbox_port,
                RATES_SANDBOX: cfg.rates_sandbox_port,
                TAX_SANDBOX: cfg.tax_sandbox_port,
                MAIL_SINK: cfg.mail_sink_port,
                TRACE_SINK: cfg.trace_sink_port,
            }[name]
            print(f"{name:13} pid {pid:<7} port {port}  {'running' if pid_alive(pid) else 'STOPPED'}")
            continue
        service, replica = name.rsplit("-", 1)
        port = cfg.ports(service)[int(replica)]
        state = readiness(f"http://127.0.0.1:{port}/readyz") if pid_alive(pid) else {}
        print(f"{name:12} pid {pid:<7} port {port}  {'ready' if state.get('ready') else 'NOT READY'} {state.get('checks', '')}")
    print(f"gateway {cfg.gateway_url}: {'up' if http_ok(cfg.gateway_url + '/api/identity/healthz') else 'down'}")


def config_from(args: argparse.Namespace) -> Config:
    return Config(
        state_dir=Path(args.state_dir).resolve(),
        gateway_port=args.gateway_port,
        port_base=args.port_base,
        db_prefix=args.db_prefix,
        db_host=os.environ.get("POS_STACK_DB_HOST", "127.0.0.1"),
        db_port=int(os.environ.get("POS_STACK_DB_PORT", "3306")),
        vhost=args.vhost,
        rabbit_host=os.environ.get("POS_STACK_RABBIT_HOST", "127.0.0.1"),
        rabbit_port=int(os.environ.get("POS_STACK_RABBIT_PORT", "5672")),
        rabbit_node=os.environ.get("POS_STACK_RABBIT_NODE") or None,
        replicas=parse_replicas(args.replicas),
    )


def parse_replicas(text: str | None) -> tuple[tuple[str, int], ...]:
    """`sales=1,inventory=3` over the default (2 of inventory and sales, 1 of the rest)."""
    counts = dict(REPLICAS)
    for part in filter(None, (text or "").split(",")):
        service, _, count = part.partition("=")
        if service.strip() not in SERVICES or not count.strip().isdigit() or not 1 <= int(count) <= 9:
            raise SystemExit(f"--replicas: {part!r} is not SERVICE=N with SERVICE one of {', '.join(SERVICES)} and N 1-9")
        counts[service.strip()] = int(count)
    return tuple(sorted(counts.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "restart"])
    parser.add_argument(
        "name", nargs="?", help="restart: the process, e.g. inventory-1, card-sandbox, rates-sandbox or mail-sink"
    )
    parser.add_argument("--state-dir", default=str(ROOT / "var" / "stack"))
    parser.add_argument("--gateway-port", type=int, default=8080)
    parser.add_argument("--port-base", type=int, default=8100)
    parser.add_argument("--db-prefix", default="pos_")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--fresh", action="store_true", help="drop the stack's databases (and vhost) first")
    parser.add_argument(
        "--replicas",
        default=os.environ.get("POS_STACK_REPLICAS"),
        help="instances per service, e.g. sales=1,inventory=1 (default: 2 of inventory and sales, 1 of the rest); "
        "give the same value to down/status/restart",
    )
    args = parser.parse_args(argv)
    cfg = config_from(args)
    {
        "up": lambda: up(cfg, args.fresh),
        "down": lambda: down(cfg),
        "status": lambda: status(cfg),
        "restart": lambda: restart(cfg, args.name),
    }[args.command]()


if __name__ == "__main__":
    main()
