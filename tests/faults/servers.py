"""The fault suite's own MariaDB and RabbitMQ: started by the suite on other ports, a
node name and data directories under var/faults, so stopping, killing or cutting them
disturbs nothing else on the machine (the shared servers on 3306 and 5672 are never
touched). Every process here is started and stopped by these classes, by pid."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "faults"

MARIADB_PORT = 13306
RABBIT_PORT = 5683
RABBIT_DIST_PORT = 25683
RABBIT_NODE = "pos-faults@localhost"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(check: Callable[[], object], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PrivateMariaDB:
    """mariadbd on 127.0.0.1:13306 with its own data directory; root, empty password."""

    def __init__(self, base: Path = VAR) -> None:
        self.base = base
        self.datadir = base / "mariadb"
        self.socket = base / "mysqld.sock"
        self.pid_file = base / "mysqld.pid"
        self.log = base / "mariadb.err"
        self.port = MARIADB_PORT
        self.proc: subprocess.Popen[bytes] | None = None

    def _user(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        """A fresh data directory (whatever a previous run left is removed)."""
        self.kill_leftover()
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.base.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                *self._user(),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")

    def kill_leftover(self) -> None:
        """A mariadbd of this suite left running by an interrupted run (by its pid file)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if pid_alive(pid) and "mariadbd" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), "the leftover mariadbd to die", 30)
        self.pid_file.unlink(missing_ok=True)

    def start(self, timeout: float = 90.0) -> None:
        if self.running():
            return
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    "/usr/sbin/mariadbd",
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={self.socket}",
                    f"--pid-file={self.pid_file}",
                    *self._user(),
                    "--skip-log-bin",
                    "--max-connections=500",
                    f"--log-error={self.log}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_until(self.answers, f"MariaDB on {self.port} (log: {self.log})", timeout)

    def answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {self.proc.returncode} (log: {self.log})")
        import pymysql

        try:
            conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", connect_timeout=2)
        except pymysql.MySQLError:
            return False
        conn.close()
        return True

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> None:
        """A clean shutdown (SIGTERM), waited for."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """A crash (SIGKILL)."""
        self._signal(signal.SIGKILL, 30)

    def _signal(self, sig: int, timeout: float) -> None:
        if not self.running():
            return
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None


class PrivateRabbitMQ:
    """A second RabbitMQ node (pos-faults@localhost, AMQP on 5683, distribution on 25683),
    no plugins, its own config, database and logs under var/faults/rabbitmq. Started with
    Debian's wrapper (as the rabbitmq user, sharing that user's Erlang cookie) so that
    `rabbitmqctl -n pos-faults@localhost` works from here and from scripts/stack.py."""

    def __init__(self, base: Path = VAR) -> None:
        self.base = base / "rabbitmq"
        self.node = RABBIT_NODE
        self.port = RABBIT_PORT

    def env(self) -> dict[str, str]:
        b = self.base
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")},
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(RABBIT_DIST_PORT),
            "RABBITMQ_MNESIA_BASE": str(b / "mnesia"),
            "RABBITMQ_LOG_BASE": str(b / "log"),
            "RABBITMQ_PID_FILE": str(b / "rabbitmq.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(b / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(b / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(b / "rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def ctl(self, *args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args], env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
            )
        return result

    def pingable(self) -> bool:
        try:
            return self.ctl("-q", "ping", timeout=20, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def pid(self) -> int | None:
        try:
            return int((self.base / "rabbitmq.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def prepare(self) -> None:
        """Fresh directories and config (a leftover node of this suite is stopped first)."""
        if self.pingable():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users.guest = true\n")
        (self.base / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("rabbitmq")
            except KeyError:
                user = None
            if user is not None:
                for path in [self.base, *self.base.rglob("*")]:
                    os.chown(path, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 120.0) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env(), capture_output=True, check=False)
        wait_until(self.pingable, f"RabbitMQ node {self.node} (logs: {self.base / 'log'})", timeout)
        self.ctl("await_startup", timeout=timeout)
        wait_until(lambda: port_open(self.port), f"RabbitMQ on {self.port}", timeout)

    def stop(self) -> None:
        """Stop the node and wait for its process to end."""
        pid = self.pid()
        self.ctl("stop", timeout=120, check=False)
        if pid is not None:
            deadline = time.monotonic() + 30
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup")

    def close_all_connections(self, vhost: str) -> None:
        self.ctl("close_all_connections", "-p", vhost, "fault suite: connections cut")

    def queues(self, vhost: str) -> dict[str, dict[str, int]]:
        """name -> {messages, ready, unacked} for the vhost's queues."""
        out = self.ctl(
            "-q",
            "list_queues",
            "-p",
            vhost,
            "name",
            "messages",
            "messages_ready",
            "messages_unacknowledged",
            "--no-table-headers",
            timeout=30,
        ).stdout
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4 and all(p.isdigit() for p in parts[1:]):
                found[parts[0]] = {"messages": int(parts[1]), "ready": int(parts[2]), "unacked": int(parts[3])}
        return found
