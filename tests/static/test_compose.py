"""compose.yaml: valid Compose, and consistent with the gateway, the Dockerfiles, the
conventions and .env.example. No Docker engine needed."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

HERE = Path(__file__).resolve().parent
MIGRATE_SUFFIX = "-migrate"


def api_services(compose: dict) -> set[str]:
    """Compose services built from services/<svc>/Dockerfile that keep running."""
    return {
        name
        for name, spec in compose["services"].items()
        if not name.endswith(MIGRATE_SUFFIX) and str(spec.get("build", {}).get("dockerfile", "")).startswith("services/")
    }


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    # Copy of the Compose Specification schema: see compose-spec.NOTICE.md.
    schema = json.loads((HERE / "compose-spec.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def test_conventions_list_six_services(service_ports: dict[str, list[int]]) -> None:
    assert list(service_ports) == [
        "identity",
        "catalog",
        "inventory",
        "sales",
        "payments",
        "reports",
    ]


def test_compose_matches_the_compose_specification(validator, compose: dict) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


def test_schema_copy_rejects_a_misspelt_key(validator, compose: dict) -> None:
    # Guards the check above against a schema that accepts anything.
    broken = copy.deepcopy(compose)
    broken["services"]["gateway"]["depend_on"] = ["identity"]
    assert list(validator.iter_errors(broken))


def test_every_proxied_service_exists_in_compose_with_a_dockerfile(
    repo: Path, compose: dict, gateway_upstreams: dict[str, list[str]], service_ports: dict
) -> None:
    template = (repo / "gateway" / "nginx.conf.template").read_text(encoding="utf-8")
    proxied = set(gateway_upstreams) | set(re.findall(r"proxy_pass\s+http://(\w+)\s*;", template))
    for name in sorted(proxied | set(service_ports)):
        assert name in compose["services"], f"gateway proxies to {name}, compose lacks it"
        dockerfile = compose["services"][name]["build"]["dockerfile"]
        assert (repo / dockerfile).is_file(), f"{name}: {dockerfile} missing"


def test_gateway_upstream_servers_are_compose_services(compose: dict, gateway_upstreams: dict[str, list[str]]) -> None:
    assert gateway_upstreams, "no upstream blocks in the rendered gateway config"
    for name, servers in gateway_upstreams.items():
        for server in servers:
            host, _, port = server.rpartition(":")
            assert host in compose["services"], f"upstream {name}: {server} is not a compose service"
            assert port == "8000", f"upstream {name}: {server} (services listen on 8000)"


def test_every_compose_api_service_is_behind_the_gateway(
    compose: dict, gateway_upstreams: dict[str, list[str]], service_ports: dict
) -> None:
    assert api_services(compose) == set(service_ports)
    assert api_services(compose) <= set(gateway_upstreams)


def test_api_service_waits_for_its_migration_and_the_infrastructure(compose: dict, svc: str) -> None:
    depends_on = compose["services"][svc]["depends_on"]
    assert depends_on[f"{svc}{MIGRATE_SUFFIX}"]["condition"] == "service_completed_successfully"
    assert depends_on["mariadb"]["condition"] == "service_healthy"
    assert depends_on["rabbitmq"]["condition"] == "service_healthy"


def test_migration_job_runs_pos_migrate_with_the_service_image(compose: dict, svc: str) -> None:
    job = compose["services"][f"{svc}{MIGRATE_SUFFIX}"]
    api = compose["services"][svc]
    assert job["command"] == ["pos-migrate", svc]
    assert job["image"] == api["image"]
    assert job["build"] == api["build"]
    assert job["restart"] == "no"
    assert job["depends_on"]["mariadb"]["condition"] == "service_healthy"
    assert job["environment"]["POS_DATABASE_URL"] == api["environment"]["POS_DATABASE_URL"]


def test_service_environment_follows_the_conventions(compose: dict, svc: str) -> None:
    env = compose["services"][svc]["environment"]
    assert re.fullmatch(
        rf"mysql\+pymysql://pos:\$\{{POS_DB_PASSWORD[^}}]*\}}@mariadb:3306/pos_{svc}",
        env["POS_DATABASE_URL"],
    )
    assert env["POS_BUS"] == "rabbitmq"
    assert "@rabbitmq:5672/" in env["POS_RABBITMQ_URL"]
    secrets = compose["services"][svc]["secrets"]
    assert env["POS_JWT_PUBLIC_KEY_FILE"] == "/run/secrets/jwt_public_key" and "jwt_public_key" in secrets
    # Only identity holds the signing key.
    assert ("POS_JWT_PRIVATE_KEY_FILE" in env) == ("jwt_private_key" in secrets) == (svc == "identity")


def test_sales_calls_inventory_and_payments_by_compose_name(compose: dict) -> None:
    env = compose["services"]["sales"]["environment"]
    assert env["POS_INVENTORY_URL"] == "http://inventory:8000"
    assert env["POS_PAYMENTS_URL"] == "http://payments:8000"


def test_checkout_path_runs_two_replicas(compose: dict) -> None:
    for name in ("inventory", "sales"):
        assert compose["services"][name]["deploy"]["replicas"] >= 2


def test_init_sql_creates_every_service_database(repo: Path, svc: str) -> None:
    sql = "\n".join(p.read_text(encoding="utf-8") for p in (repo / "deploy/compose/initdb").glob("*.sql"))
    assert re.search(rf"CREATE DATABASE IF NOT EXISTS pos_{svc}\b", sql)
    assert re.search(rf"GRANT ALL PRIVILEGES ON pos_{svc}\.\*", sql)


def test_every_long_running_service_has_a_healthcheck(compose: dict) -> None:
    for name, spec in compose["services"].items():
        if not name.endswith(MIGRATE_SUFFIX):
            assert spec.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_gateway_waits_for_every_service_to_be_healthy(compose: dict, service_ports: dict) -> None:
    depends_on = compose["services"]["gateway"]["depends_on"]
    assert {name: dep["condition"] for name, dep in depends_on.items()} == {svc: "service_healthy" for svc in service_ports}
    assert compose["services"]["gateway"]["ports"] == ["${POS_GATEWAY_PORT:-8080}:8080"]


def test_gateway_runtime_dir_is_writable(repo: Path, compose: dict) -> None:
    # The read-only gateway container needs a tmpfs where render.py puts pid/temp files.
    prefix = re.search(r'^COMPOSE_PREFIX = "([^"]+)"', (repo / "gateway/render.py").read_text(), re.MULTILINE)
    assert prefix, "render.py has no COMPOSE_PREFIX"
    assert prefix.group(1) in compose["services"]["gateway"]["tmpfs"]
    assert prefix.group(1) in (repo / "gateway/Dockerfile").read_text()


def test_build_contexts_and_dockerfiles_exist(repo: Path, compose: dict) -> None:
    for name, spec in compose["services"].items():
        if "build" in spec:
            context = repo / spec["build"]["context"]
            assert context.is_dir(), f"{name}: context {context} missing"
            assert (context / spec["build"]["dockerfile"]).is_file(), f"{name}: dockerfile missing"


def test_bind_mounts_and_secret_files_are_in_the_repo(repo: Path, compose: dict) -> None:
    for name, spec in compose["services"].items():
        for volume in spec.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (repo / source).exists(), f"{name}: {source} missing"
    env_example = (repo / ".env.example").read_text(encoding="utf-8")
    for secret in compose["secrets"].values():
        # Generated locally (never committed): .env.example says how.
        assert secret["file"].removeprefix("./") in env_example


def test_every_compose_variable_is_documented(compose_text: str, env_example: dict[str, bool]) -> None:
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", compose_text))
    assert used, "compose.yaml uses no variables?"
    missing = sorted(used - set(env_example))
    assert not missing, f"used in compose.yaml, not in .env.example: {missing}"


def test_required_secrets_fail_loudly_when_unset(compose_text: str) -> None:
    for var in (
        "POS_DB_PASSWORD",
        "POS_DB_ROOT_PASSWORD",
        "POS_RABBITMQ_PASSWORD",
        "POS_ADMIN_PASSWORD",
    ):
        uses = re.findall(rf"\$\{{{var}([^}}]*)\}}", compose_text)
        assert uses and all(use.startswith(":?") for use in uses), var


def test_env_example_documents_every_convention_variable(repo: Path, env_example: dict[str, bool]) -> None:
    conventions = (repo / "docs" / "conventions.md").read_text(encoding="utf-8")
    variables = set(re.findall(r"`(POS_[A-Z0-9_]+)`", conventions))
    assert len(variables) >= 10
    missing = sorted(variables - set(env_example))
    assert not missing, f"in docs/conventions.md, not in .env.example: {missing}"


def test_env_example_documents_every_settings_field(repo: Path, env_example: dict[str, bool]) -> None:
    """Fields of every *Settings class (prefix POS_) in libs/ and services/."""
    fields = set()
    sources = [*repo.glob("libs/*/pos_*/**/*.py"), *repo.glob("services/*/pos_*/**/*.py")]
    for path in sources:
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                (getattr(base, "id", None) or getattr(base, "attr", "")).endswith("Settings") for base in node.bases
            ):
                fields |= {
                    f"POS_{item.target.id.upper()}"
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.target.id != "model_config"
                }
    assert "POS_DATABASE_URL" in fields, "no settings class found"
    missing = sorted(fields - set(env_example))
    assert not missing, f"settings fields not in .env.example: {missing}"


def test_every_env_example_variable_has_a_comment(env_example: dict[str, bool]) -> None:
    bare = sorted(var for var, commented in env_example.items() if not commented)
    assert not bare, f"no comment line above: {bare}"
