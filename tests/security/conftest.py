"""Fixtures of the security suite: a whole POS in one process (world.py) for the
authorization matrix and the token tests; the local stack (tests/conftest.py) for
the brute-force and schemathesis runs.

The stack is shared by the whole test session; its lockout window is made short here
(before any stack starts) so the brute-force test can wait it out."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.security.world import World, start

os.environ.setdefault("POS_LOGIN_LOCKOUT_SECONDS", "10")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from start(tmp_path_factory.mktemp("security-world"))
