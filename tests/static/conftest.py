"""Fixtures of the static deployment checks: they read files, and need no Docker engine,
cluster or network. The service list comes from docs/conventions.md (the contract)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _conventions_services() -> dict[str, list[int]]:
    """{service: local-stack ports} from the services table of docs/conventions.md."""
    table: dict[str, list[int]] = {}
    for line in (REPO / "docs" / "conventions.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[1] == f"pos_{cells[0]}":
            table[cells[0]] = [int(port) for port in re.findall(r"\d+", cells[2])]
    return table


SERVICE_PORTS = _conventions_services()
SERVICES = list(SERVICE_PORTS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `svc` runs once per service of the conventions."""
    if "svc" in metafunc.fixturenames:
        metafunc.parametrize("svc", SERVICES)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def service_ports() -> dict[str, list[int]]:
    return SERVICE_PORTS


@pytest.fixture(scope="session")
def compose_text() -> str:
    return (REPO / "compose.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def compose(compose_text: str) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="session")
def env_example() -> dict[str, bool]:
    """Variables of .env.example (set, or shown commented out) -> whether the line above
    is a comment (its description, or a commented-out sibling under the same one)."""
    documented: dict[str, bool] = {}
    previous_is_comment = False
    for raw in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented[match.group(1)] = previous_is_comment
        previous_is_comment = line.startswith("#")
    return documented


@pytest.fixture(scope="session")
def rendered_gateway() -> str:
    """The nginx.conf the gateway image contains (same command as gateway/Dockerfile)."""
    result = subprocess.run(
        [sys.executable, str(REPO / "gateway" / "render.py"), "--mode", "compose", "--out", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def gateway_upstreams(rendered_gateway: str) -> dict[str, list[str]]:
    """upstream name -> its `server host:port` entries, from the rendered gateway config."""
    upstreams: dict[str, list[str]] = {}
    for name, body in re.findall(r"upstream\s+([\w.-]+)\s*\{([^}]*)\}", rendered_gateway):
        upstreams[name] = re.findall(r"^\s*server\s+(\S+?)(?:\s[^;]*)?;", body, re.MULTILINE)
    return upstreams


@pytest.fixture(scope="session")
def dockerfile() -> Callable[[Path], list[tuple[str, str]]]:
    return parse_dockerfile


def parse_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


@pytest.fixture(scope="session")
def k8s_base() -> list[dict]:
    """Every document of the files in deploy/k8s/base (kustomization.yaml excluded)."""
    docs = []
    for path in sorted((REPO / "deploy" / "k8s" / "base").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return docs
