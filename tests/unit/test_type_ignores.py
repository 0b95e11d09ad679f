"""scripts/type_ignores.py: an ignore that names no error, gives no reason or is no longer
needed fails `make lint`; one quoted in a string is not an ignore."""

from __future__ import annotations

from pathlib import Path

from tests.unit.scriptload import load_script

type_ignores = load_script("type_ignores")


def test_an_ignore_must_name_its_error_and_say_why(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "a: int = 'x'  # type: ignore\n"
        "b: int = 'x'  # type: ignore[assignment]\n"
        "c: int = 'x'  # type: ignore[assignment]  # a string on purpose: it must be refused\n"
        "d = '# type: ignore'\n"
    )
    count, problems = type_ignores.unexplained(source)
    assert count == 3
    assert [p.split("sample.py:")[1].split(": #")[0] for p in problems] == [
        "1: name the error code",
        "1: say why after it",
        "2: say why after it",
    ]


def test_an_ignore_no_longer_needed_is_found_and_a_needed_one_is_not(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "a: int = 1  # type: ignore[assignment]  # was a string once\nb: int = 'x'  # type: ignore[assignment]  # a string on purpose\n"
    )
    found = type_ignores.unused([source])
    assert len(found) == 1 and found[0].endswith('sample.py:1: error: Unused "type: ignore" comment  [unused-ignore]'), found
