"""The embedded mode serves the web app as the nginx gateway does (issue 17): compressed,
hashed assets cached for a year, the shell, service worker and manifest revalidated, a
missing asset a 404 (never the HTML shell), client-side routes falling back to the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pos_embedded.gateway import EmbeddedGateway

SHELL = "<!doctype html><title>POS</title>" + "<!-- padding -->" * 100
SCRIPT = "export const till = 1;\n" * 400  # ~9 KB: worth compressing


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(SHELL)
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (tmp_path / "assets" / "index-abc123.js").write_text(SCRIPT)
    return TestClient(EmbeddedGateway({}, tmp_path))


def test_hashed_assets_are_compressed_and_cached_for_a_year(client: TestClient) -> None:
    r = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(SCRIPT) // 10  # what went over the wire
    assert r.text == SCRIPT
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["/", "/index.html", "/sw.js", "/office/stock"])
def test_the_shell_and_the_service_worker_are_revalidated(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"
    if path != "/sw.js":
        assert r.text == SHELL and r.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize("path", ["/assets/index-old999.js", "/manifest.webmanifest"])
def test_a_missing_asset_is_a_404_not_the_shell(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "cache-control" not in r.headers
    assert "not part of this version" in r.json()["detail"]


def test_the_page_gets_the_gateways_policy_with_only_the_listed_card_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """web/index.html's own policy lets the till reach a card reader at any HTTPS origin
    (ADR 0073); the embedded server, like nginx, narrows it with a header to the readers
    listed, so a page served without nginx cannot send anything anywhere else."""
    (tmp_path / "index.html").write_text(SHELL)
    plain = TestClient(EmbeddedGateway({}, tmp_path)).get("/")
    assert "connect-src 'self';" in plain.headers["content-security-policy"]
    monkeypatch.setenv("POS_GATEWAY_CARD_READER_ORIGINS", "https://192.168.1.50:8443, javascript:alert(1)")
    listed = TestClient(EmbeddedGateway({}, tmp_path)).get("/")
    assert "connect-src 'self' https://192.168.1.50:8443;" in listed.headers["content-security-policy"]
