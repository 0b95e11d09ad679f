"""Shared helpers for the gateway tests: load gateway/render.py, find nginx."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pos_platform.testing import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RENDER_PY = REPO_ROOT / "gateway" / "render.py"


def _load_render() -> ModuleType:
    # gateway/ is not a Python package (it is an image build context), so load by path.
    spec = importlib.util.spec_from_file_location("pos_gateway_render", RENDER_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


render_module = _load_render()


def nginx_or_skip() -> str:
    """Path of the nginx binary; skip without one, but fail on CI (CI=true)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
        None,
    )
    if found:
        return found
    message = "nginx binary not found (Debian: apt-get install -y nginx)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must install it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def render() -> ModuleType:
    """The gateway/render.py module."""
    return render_module


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    return nginx_or_skip()


@pytest.fixture(scope="session")
def get_free_port():
    return free_port
