"""POS_RATES_STALE_AFTER_DAYS is read by sales and payments, which must agree on when an
exchange rate is stale (docs/currency-tax.md#staleness): the same default in both, and
every deployment gives both the one value."""

from __future__ import annotations

import re

from pos_payments.config import Settings as PaymentsSettings
from pos_sales.config import Settings as SalesSettings

VAR = "POS_RATES_STALE_AFTER_DAYS"
READERS = ("sales", "payments")


def test_sales_and_payments_default_alike() -> None:
    sales = SalesSettings.model_fields["rates_stale_after_days"].default
    payments = PaymentsSettings.model_fields["rates_stale_after_days"].default
    assert sales == payments, f"sales defaults to {sales} days, payments to {payments}"


def test_compose_gives_sales_and_payments_one_value(compose: dict, compose_text: str) -> None:
    values = {svc: compose["services"][svc]["environment"].get(VAR) for svc in READERS}
    assert values["sales"] is not None and values["sales"] == values["payments"], values
    # The value comes from .env, defaulting to what the services default to.
    match = re.fullmatch(r"\$\{" + VAR + r":-(\d+)\}", str(values["sales"]))
    assert match, values["sales"]
    assert int(match.group(1)) == PaymentsSettings.model_fields["rates_stale_after_days"].default
    # One place: the anchor, referred to by both services.
    assert compose_text.count("${" + VAR) == 1


def test_k8s_gives_it_to_every_pod_from_the_configmap(k8s_base: list[dict]) -> None:
    configmap = next(d for d in k8s_base if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "pos-config")
    assert VAR in configmap["data"]
    for doc in k8s_base:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] in READERS:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                assert {"configMapRef": {"name": "pos-config"}} in container.get("envFrom", []), doc["metadata"]["name"]
                # No per-Deployment override that could tell them apart.
                assert VAR not in {e["name"] for e in container.get("env", [])}


def test_ubuntu_install_writes_one_value_to_both(repo) -> None:
    script = (repo / "deploy" / "ubuntu" / "install.sh").read_text(encoding="utf-8")
    writes = re.findall(r'echo "' + VAR + r'=([^"]*)"', script)
    assert writes == ["$RATES_STALE_AFTER_DAYS"] * len(READERS), writes
