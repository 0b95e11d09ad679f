"""The hash-locked requirements (issue 18): what scripts/install.sh, the images and the
Ubuntu installer install. The locks must cover every third-party package the repo's own
packages name, carry a hash for every package, and agree with the pins they were
compiled from (a pin changed without running scripts/lock-deps.sh fails here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return norm(re.split(r"[\[<>=!~; ]", spec.strip(), maxsplit=1)[0])


def pins(path: Path) -> dict[str, str]:
    """name -> version of the `name==version` lines of a requirements file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^ \\;#]+)", line.strip())
        if match:
            found[norm(match.group(1))] = match.group(2)
    return found


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a lock written by pip-compile / uv."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", line)
        if match:
            current = norm(match.group(1))
            entries[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


def own_packages() -> list[Path]:
    return sorted(REPO.glob("libs/*/pyproject.toml")) + sorted(REPO.glob("services/*/pyproject.toml"))


def third_party_dependencies() -> set[str]:
    ours = {norm(tomllib.loads(p.read_text(encoding="utf-8"))["project"]["name"]) for p in own_packages()}
    needed = set()
    for path in own_packages():
        for spec in tomllib.loads(path.read_text(encoding="utf-8"))["project"].get("dependencies", []):
            if requirement_name(spec) not in ours:
                needed.add(requirement_name(spec))
    return needed


def test_every_dependency_of_the_repos_packages_is_an_input_of_the_runtime_lock() -> None:
    inputs = {
        requirement_name(line)
        for line in (REPO / "requirements-runtime.in").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    assert third_party_dependencies() <= inputs, sorted(third_party_dependencies() - inputs)


@pytest.mark.parametrize("lock", ["requirements-runtime.lock", "requirements.lock"])
def test_a_lock_has_a_hash_for_every_package_and_the_versions_pinned(lock: str) -> None:
    entries = locked(REPO / lock)
    assert entries, f"{lock} lists nothing"
    assert [name for name, (_v, hashes) in entries.items() if hashes == 0] == []
    wanted = pins(REPO / "requirements.txt") | (pins(REPO / "requirements-dev.txt") if lock == "requirements.lock" else {})
    if lock == "requirements-runtime.lock":
        wanted = {name: v for name, v in wanted.items() if name in entries or name in third_party_dependencies()}
    stale = {
        name: (version, entries.get(name, ("missing", 0))[0])
        for name, version in wanted.items()
        if entries.get(name, ("",))[0] != version
    }
    assert stale == {}, f"{lock} disagrees with the pins (pin, locked): run scripts/lock-deps.sh"
    assert third_party_dependencies() <= set(entries)


def test_the_runtime_lock_is_the_development_locks_subset() -> None:
    runtime, dev = locked(REPO / "requirements-runtime.lock"), locked(REPO / "requirements.lock")
    assert {name: version for name, (version, _h) in runtime.items()} == {name: dev[name][0] for name in runtime if name in dev}
    assert set(runtime) <= set(dev)
