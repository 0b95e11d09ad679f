"""The images: one Dockerfile per service (non-root, health-checked, serving the module
its directory names) and the gateway's."""

from __future__ import annotations

import json
import re
from pathlib import Path


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def last(instructions: list[tuple[str, str]], keyword: str) -> str:
    values = [args for kw, args in instructions if kw == keyword]
    assert values, f"no {keyword}"
    return values[-1]


def runs_as_non_root(stage: list[tuple[str, str]]) -> bool:
    user = last(stage, "USER").split(":")[0]
    return user not in ("root", "0")


def assert_copy_sources_exist(repo: Path, instructions: list[tuple[str, str]]) -> None:
    """Every COPY source exists in the build context (the repository root)."""
    for kw, args in instructions:
        if kw == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (repo / source).exists(), f"COPY {source}: missing"


def test_service_image_runs_as_a_numeric_non_root_user(repo: Path, svc: str, dockerfile) -> None:
    stage = final_stage(dockerfile(repo / "services" / svc / "Dockerfile"))
    assert runs_as_non_root(stage)
    # Numeric, so that Kubernetes' runAsNonRoot can verify it.
    assert last(stage, "USER").split(":")[0].isdigit()


def test_service_image_checks_its_health(repo: Path, svc: str, dockerfile) -> None:
    stage = final_stage(dockerfile(repo / "services" / svc / "Dockerfile"))
    assert "http://127.0.0.1:8000/healthz" in last(stage, "HEALTHCHECK")
    assert last(stage, "EXPOSE") == "8000"


def test_service_image_serves_the_module_of_its_directory(repo: Path, svc: str, dockerfile) -> None:
    stage = final_stage(dockerfile(repo / "services" / svc / "Dockerfile"))
    cmd = json.loads(last(stage, "CMD"))
    assert cmd[:2] == ["uvicorn", f"pos_{svc}.main:app"]
    assert cmd[cmd.index("--port") + 1] == "8000" and "--proxy-headers" in cmd
    assert (repo / "services" / svc / f"pos_{svc}" / "main.py").is_file()


def test_service_image_installs_the_shared_libs_and_the_service(repo: Path, svc: str, dockerfile) -> None:
    instructions = dockerfile(repo / "services" / svc / "Dockerfile")
    assert instructions[0] == ("FROM", "python:3.11-slim AS build")
    installs = [args for kw, args in instructions if kw == "RUN" and "pip install" in args]
    assert len(installs) == 1
    for wanted in (
        "--require-hashes -r requirements-runtime.lock",
        "--no-deps ./libs/contracts",
        "./libs/platform",
        f"./services/{svc}",
    ):
        assert wanted in installs[0]
    assert_copy_sources_exist(repo, instructions)


def test_gateway_image(repo: Path, dockerfile) -> None:
    instructions = dockerfile(repo / "gateway" / "Dockerfile")
    assert_copy_sources_exist(repo, instructions)  # web/package.json, web/package-lock.json
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert "python gateway/render.py --mode compose --out /nginx.conf" in runs
    assert "npm ci" in runs and "npm run build" in runs
    stage = final_stage(instructions)
    assert last(stage, "FROM").startswith("nginx:")
    copies = [args for kw, args in stage if kw == "COPY"]
    assert "--from=config /nginx.conf /etc/nginx/nginx.conf" in copies
    assert any(c.endswith("/web/dist /usr/share/nginx/html") for c in copies)
    assert runs_as_non_root(stage)
    assert last(stage, "EXPOSE") == "8080"
    assert "http://127.0.0.1:8080/healthz" in last(stage, "HEALTHCHECK")


def test_gateway_health_path_exists(repo: Path) -> None:
    template = (repo / "gateway" / "nginx.conf.template").read_text(encoding="utf-8")
    assert "location = /healthz" in template


def test_dockerignore_keeps_secrets_and_local_state_out(repo: Path) -> None:
    patterns = (repo / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".git", ".env", "var/", "*.pem", ".venv/", "web/node_modules/"):
        assert pattern in patterns


def test_requirements_txt_is_a_valid_constraints_file(repo: Path) -> None:
    # scripts/lock-deps.sh compiles the locks with `-c requirements.txt`; pip and uv
    # refuse a constraints file whose lines carry extras ("Constraints cannot have extras").
    for line in (repo / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.*+!-]+", line), line
