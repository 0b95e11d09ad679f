"""Every `# type: ignore` in the Python tree names the error it silences, says why on the
same line, and is still needed (`make lint` runs this after mypy).

mypy in `make lint` checks libs/ and the services' domain modules strictly (pyproject.toml,
[tool.mypy]), and strict includes warn_unused_ignores: an ignore there that is no longer
needed fails the lint already. The rest of the tree (routes, tests, scripts) is not
type-checked as a whole, so an ignore there could outlive its reason unnoticed. This
checks the files outside the strict list that carry an ignore: mypy over them (bodies of
unannotated functions too), reporting only the ignores it finds unused, and each ignore
must read `# type: ignore[code]  # the reason`.

    .venv/bin/python scripts/type_ignores.py          # exit 1 and the list when one is wrong
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tokenize
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("libs", "services", "scripts", "gateway", "tests")
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")
REASON = re.compile(r"^\s+#\s*\S")
WORK = ROOT / "var" / "type-ignores"
PACKAGES = WORK / "packages"


def python_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *(f"{f}/*.py" for f in FOLDERS)],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({ROOT / name for name in listed.split("\0") if name and (ROOT / name).exists()})


def strict_files() -> list[Path]:
    """What [tool.mypy] files names (strict: its unused ignores fail mypy itself)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [ROOT / name for name in config["tool"]["mypy"]["files"]]


def is_under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def packages() -> dict[str, Path]:
    """pos_* packages (libs/<name>/pos_<name>, services/<name>/pos_<name>) by name."""
    found = {}
    for init in [*ROOT.glob("libs/*/pos_*/__init__.py"), *ROOT.glob("services/*/pos_*/__init__.py")]:
        found[init.parent.name] = init.parent
    return found


def mypy_paths(files: list[Path], by_name: dict[str, Path]) -> tuple[list[str], dict[str, Path]]:
    """The packages are installed in editable mode, which mypy does not follow: it reads
    them through links under var/type-ignores/packages, with the repository root the one
    other base (so services/<name>/tests are `services.<name>.tests`, as pytest imports
    them). A package's own file is named through its link too, so it is one module."""
    PACKAGES.mkdir(parents=True, exist_ok=True)
    for name, folder in by_name.items():
        link = PACKAGES / name
        if not link.is_symlink() or link.resolve() != folder:
            if link.is_symlink():
                link.unlink()
            link.symlink_to(folder, target_is_directory=True)
    args, back = [], {}
    for path in files:
        owner = next((name for name, folder in by_name.items() if folder in path.parents), None)
        shown = PACKAGES / owner / path.relative_to(by_name[owner]) if owner else path
        args.append(os.path.relpath(shown, ROOT))
        back[os.path.relpath(shown, ROOT)] = path
    return args, back


def unused(files: list[Path]) -> list[str]:
    if not files:
        return []
    args, back = mypy_paths(files, packages())
    config = WORK / "mypy.ini"
    config.write_text(
        "[mypy]\n"
        "python_version = 3.11\n"
        "check_untyped_defs = True\n"
        "warn_unused_ignores = True\n"
        "explicit_package_bases = True\n"
        "namespace_packages = True\n"
        "follow_imports = silent\n"
        f"mypy_path = .:{os.path.relpath(PACKAGES, ROOT)}\n"
        f"cache_dir = {os.path.relpath(WORK / 'cache', ROOT)}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-error-summary", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if run.returncode not in (0, 1):
        raise SystemExit(f"mypy did not run:\n{run.stdout}{run.stderr}")
    problems = []
    for line in run.stdout.splitlines():
        if line.endswith("[unused-ignore]"):
            shown, _, rest = line.partition(":")
            real = back.get(shown, ROOT / shown)
            problems.append(f"{os.path.relpath(real, ROOT)}:{rest}")
    return problems


def comments(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each comment: an ignore quoted in a string is not one."""
    with path.open("rb") as source:
        return [(token.start[0], token.string) for token in tokenize.tokenize(source.readline) if token.type == tokenize.COMMENT]


def unexplained(path: Path) -> tuple[int, list[str]]:
    """(how many ignores `path` holds, those that name no error code or give no reason)."""
    count, problems = 0, []
    for number, comment in comments(path):
        match = IGNORE.search(comment)
        if match is None:
            continue
        count += 1
        where = f"{os.path.relpath(path, ROOT)}:{number}"
        if not match["codes"]:
            problems.append(f"{where}: name the error code: # type: ignore[code]")
        if not REASON.match(match["rest"]):
            problems.append(f"{where}: say why after it: # type: ignore[code]  # the reason")
    return count, problems


def main() -> int:
    strict = strict_files()
    problems: list[str] = []
    carrying: list[Path] = []
    total = 0
    for path in python_files():
        count, found = unexplained(path)
        total += count
        problems += found
        if count and not is_under(path, strict):
            carrying.append(path)
    problems += unused(carrying)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problems with the tree's {total} `# type: ignore` comments")
        return 1
    print(f"{total} `# type: ignore` comments, each naming its error and why, none unused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
