"""The web app's API types (web/src/lib/api-types/*.ts) are what the services' OpenAPI
documents generate today (issue 18): a route or a response model changed without
`make api-types` fails here, so the till's types cannot drift from the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_api_types_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "openapi_types.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-6000:] or result.stdout


def test_the_check_notices_a_stale_file(tmp_path: Path) -> None:
    """The comparison fails on a hand edit, a missing service and a stray file."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import openapi_types
    finally:
        sys.path.remove(str(REPO / "scripts"))
    committed, fresh = tmp_path / "committed", tmp_path / "fresh"
    committed.mkdir()
    fresh.mkdir()
    (fresh / "sales.ts").write_text("export interface A { x: number }\n")
    (committed / "sales.ts").write_text("export interface A { x: string }\n")
    (fresh / "catalog.ts").write_text("export {}\n")
    (committed / "old.ts").write_text("export {}\n")
    problems = "\n".join(openapi_types.stale(committed, fresh))
    assert "sales.ts differs" in problems and "+export interface A { x: number }" in problems
    assert "catalog.ts: missing" in problems
    assert "old.ts: no service generates it" in problems
    (committed / "sales.ts").write_text("export interface A { x: number }\n")
    (committed / "catalog.ts").write_text("export {}\n")
    (committed / "old.ts").unlink()
    assert openapi_types.stale(committed, fresh) == []
