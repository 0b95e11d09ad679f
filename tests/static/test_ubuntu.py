"""deploy/ubuntu: the systemd units, the install script and the nginx files agree with
the conventions and with gateway/render.py."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

UBUNTU = Path("deploy/ubuntu")


@pytest.fixture(scope="module")
def install_sh(repo: Path) -> str:
    return (repo / UBUNTU / "install.sh").read_text(encoding="utf-8")


def unit(repo: Path, name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((repo / UBUNTU / name).read_text(encoding="utf-8"))
    return parser


def test_install_script_is_valid_bash_and_executable(repo: Path) -> None:
    script = repo / UBUNTU / "install.sh"
    assert os.access(script, os.X_OK)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_service_unit_runs_the_instance_from_the_venv(repo: Path) -> None:
    service = unit(repo, "pos@.service")["Service"]
    assert service["ExecStart"].startswith("/opt/pos/.venv/bin/uvicorn pos_%i.main:app ")
    assert service["EnvironmentFile"] == "/etc/pos/%i.env"
    assert service["User"] == "pos"
    assert service["NoNewPrivileges"] == "yes"


def test_gateway_unit_runs_the_rendered_config(repo: Path, install_sh: str) -> None:
    service = unit(repo, "pos-gateway.service")["Service"]
    assert "-c /etc/pos/gateway/nginx.conf" in service["ExecStart"]
    assert "-p /run/pos-gateway" in service["ExecStart"]
    assert service["RuntimeDirectory"] == "pos-gateway"
    assert service["User"] != "root"
    assert '--out "$ETC/gateway/nginx.conf"' in install_sh
    assert "--prefix /run/pos-gateway" in install_sh


def test_install_script_uses_the_conventions_ports(install_sh: str, service_ports: dict) -> None:
    ports = dict(re.findall(r"\[(\w+)\]=(\d+)", install_sh))
    assert {svc: int(port) for svc, port in ports.items()} == {svc: port_list[0] for svc, port_list in service_ports.items()}
    assert re.search(r"^SERVICES=\((.*)\)$", install_sh, re.MULTILINE).group(1).split() == list(service_ports)


def test_install_script_migrates_before_it_starts_services(install_sh: str) -> None:
    migrate = install_sh.index('"$OPT/.venv/bin/pos-migrate"')
    restart = install_sh.index('systemctl restart "${units[@]}"')
    assert migrate < restart


def test_install_script_files_exist(repo: Path, install_sh: str) -> None:
    for path in re.findall(r'"\$SRC/(deploy/[^"]+)"', install_sh):
        assert (repo / path).is_file(), path


def test_render_accepts_the_install_script_options(repo: Path, service_ports: dict) -> None:
    # Same options as install.sh's render step, printed instead of written.
    upstreams = [f"--upstream={svc}=127.0.0.1:{ports[0]}" for svc, ports in service_ports.items()]
    result = subprocess.run(
        [
            sys.executable,
            str(repo / "gateway/render.py"),
            "--out",
            "-",
            "--prefix",
            "/run/pos-gateway",
            "--web-root",
            "/opt/pos/web",
            "--listen",
            "127.0.0.1:8080",
            "--access-log",
            "/var/log/pos-gateway/access.log",
            "--error-log",
            "stderr",
            *upstreams,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "listen 127.0.0.1:8080;" in result.stdout
    assert "server 127.0.0.1:8104 max_fails=3 fail_timeout=2s;" in result.stdout


def test_tls_snippet_sends_hsts(repo: Path) -> None:
    snippet = (repo / UBUNTU / "nginx/pos-tls.conf").read_text(encoding="utf-8")
    assert 'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;' in snippet
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in snippet
    site = (repo / UBUNTU / "nginx/pos-site.conf").read_text(encoding="utf-8")
    assert "include snippets/pos-tls.conf;" in site
    assert "proxy_pass http://127.0.0.1:8080;" in site
    # add_header in a location would drop the snippet's HSTS header there.
    assert "add_header" not in site
