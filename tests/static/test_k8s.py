"""deploy/k8s: the Kustomize base has what every service needs, and the production
overlay only refers to what the base defines. (`kubectl kustomize` is not required.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

BASE = Path("deploy/k8s/base")
OVERLAY = Path("deploy/k8s/overlays/production")


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def all_containers(deployment: dict) -> list[dict]:
    spec = pod_spec(deployment)
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.fixture(scope="module")
def deployments(k8s_base: list[dict]) -> dict[str, dict]:
    return of_kind(k8s_base, "Deployment")


def test_kustomization_lists_every_file_of_the_base(repo: Path) -> None:
    kustomization = yaml.safe_load((repo / BASE / "kustomization.yaml").read_text())
    files = {p.name for p in (repo / BASE).iterdir() if p.name != "kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


def test_every_service_and_the_gateway_have_a_deployment_and_a_service(k8s_base: list[dict], service_ports: dict) -> None:
    expected = {*service_ports, "gateway"}
    assert set(of_kind(k8s_base, "Deployment")) == expected
    assert set(of_kind(k8s_base, "Service")) == expected


def test_services_select_their_deployment_on_a_named_port(k8s_base: list[dict], deployments: dict) -> None:
    for name, service in of_kind(k8s_base, "Service").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
        assert deployments[name]["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        port_names = {p["name"] for c in pod_spec(deployments[name])["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, name


def test_gateway_upstreams_resolve_to_cluster_services(k8s_base: list[dict], gateway_upstreams: dict[str, list[str]]) -> None:
    # The gateway image (rendered for compose) is reused: <svc>:8000 must be a Service.
    services = of_kind(k8s_base, "Service")
    for servers in gateway_upstreams.values():
        for server in servers:
            host, _, port = server.rpartition(":")
            assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, server


def test_every_container_has_probes_and_resource_limits(deployments: dict) -> None:
    for name, deployment in deployments.items():
        for container in pod_spec(deployment)["containers"]:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] in ("/readyz", "/healthz"), name
        for container in all_containers(deployment):
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["limits"].keys(), f"{name}/{container['name']}"
            assert {"cpu", "memory"} <= resources["requests"].keys(), f"{name}/{container['name']}"


def test_service_readiness_checks_dependencies(deployments: dict, svc: str) -> None:
    (container,) = pod_spec(deployments[svc])["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_every_pod_runs_non_root_on_a_read_only_root(deployments: dict) -> None:
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in all_containers(deployment):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{name}: volume {mount['name']} undefined"


def test_service_pod_migrates_first_and_has_a_writable_tmp(deployments: dict, svc: str) -> None:
    spec = pod_spec(deployments[svc])
    (migrate,) = spec["initContainers"]
    (container,) = spec["containers"]
    assert migrate["command"] == ["pos-migrate", svc]
    assert migrate["image"] == container["image"] == f"pos/{svc}"
    database_url = {e["name"]: e.get("value") for e in container["env"]}["POS_DATABASE_URL"]
    assert database_url.endswith(f"/pos_{svc}")
    assert database_url == {e["name"]: e.get("value") for e in migrate["env"]}["POS_DATABASE_URL"]
    tmp = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}["/tmp"]
    assert "emptyDir" in {v["name"]: v for v in spec["volumes"]}[tmp]


def test_env_references_are_defined(k8s_base: list[dict], deployments: dict, repo: Path) -> None:
    configmaps = of_kind(k8s_base, "ConfigMap")
    # Secrets are created by the operator, never committed: deploy/README.md names them.
    readme = (repo / "deploy" / "README.md").read_text(encoding="utf-8")
    for name, deployment in deployments.items():
        for container in all_containers(deployment):
            known = set()
            for source in container.get("envFrom", []):
                known |= configmaps[source["configMapRef"]["name"]]["data"].keys()
            for env in container.get("env", []):
                for ref in re.findall(r"\$\((\w+)\)", env.get("value", "")):
                    assert ref in known, f"{name}: $({ref}) used before it is defined"
                secret = env.get("valueFrom", {}).get("secretKeyRef")
                if secret:
                    assert secret["name"] in readme and secret["key"] in readme, secret
                known.add(env["name"])
        for volume in pod_spec(deployment).get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in readme
                for item in volume["secret"].get("items", []):
                    assert item["key"] in readme


def test_checkout_path_autoscales(k8s_base: list[dict], deployments: dict) -> None:
    autoscalers = of_kind(k8s_base, "HorizontalPodAutoscaler")
    assert {"inventory", "sales"} <= set(autoscalers)
    for hpa in autoscalers.values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert hpa["spec"]["minReplicas"] >= 2
        # The autoscaler owns the replica count; a fixed one would fight it on every apply.
        assert "replicas" not in deployments[target["name"]]["spec"]


def test_production_overlay_refers_to_the_base(repo: Path, deployments: dict, k8s_base: list[dict]) -> None:
    overlay = yaml.safe_load((repo / OVERLAY / "kustomization.yaml").read_text())
    assert overlay["resources"] == ["../../base"]
    autoscaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(k8s_base, "HorizontalPodAutoscaler").values()}
    for entry in overlay["replicas"]:
        assert entry["name"] in deployments and entry["name"] not in autoscaled, entry
        assert entry["count"] > deployments[entry["name"]]["spec"].get("replicas", 1), entry
    images = {c["image"] for d in deployments.values() for c in all_containers(d)}
    assert {image["name"] for image in overlay["images"]} == images
    for patch in overlay["patches"]:
        assert patch["target"]["name"] in autoscaled
