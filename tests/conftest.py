"""Fixtures shared by the full-stack test folders (e2e, browser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack_fixture import Stack, start_stack


@pytest.fixture(scope="session")
def local_stack() -> Iterator[Stack]:
    """Every service as its own process (two replicas of inventory and sales), MariaDB,
    RabbitMQ and nginx; started once per session."""
    yield from start_stack()
