"""deploy/observability (ADR 0070) against the code: every POS metric an alert or the
Grafana dashboard reads is one a service exports (a renamed metric would leave an alert
silent for ever), and the files compose mounts parse and are where compose puts them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"


def exported_metrics() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.glob("libs/*/pos_*/**/*.py"), *ROOT.glob("services/*/pos_*/**/*.py")]:
        for kind, name in re.findall(r"\b(Counter|Gauge|Histogram)\(\s*\"(pos_[a-z_]+)\"", path.read_text(encoding="utf-8")):
            names.add(name)
            if kind == "Histogram":
                names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    return names


def referenced(expr: str) -> set[str]:
    return set(re.findall(r"\b(pos_[a-z_]+)", expr))


def alert_exprs() -> dict[str, str]:
    rules = yaml.safe_load((OBS / "alerts.yml").read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def test_every_alert_reads_metrics_the_services_export() -> None:
    exported = exported_metrics()
    assert {"pos_outbox_oldest_unsent_seconds", "pos_dead_letters_pending", "pos_sales_finished_total"} <= exported
    alerts = alert_exprs()
    assert {"OutboxRelayStuck", "DeadLettersWaiting", "DeadLettersGrowing", "ConsumerFallingBehind"} <= set(alerts)
    for name, expr in alerts.items():
        assert referenced(expr) <= exported, f"alert {name} reads {referenced(expr) - exported}, which no service exports"


def test_every_dashboard_panel_queries_exported_metrics() -> None:
    exported = exported_metrics()
    dashboard = json.loads((OBS / "grafana" / "dashboards" / "pos-overview.json").read_text())
    titles = []
    for panel in dashboard["panels"]:
        exprs = [t["expr"] for t in panel["targets"]]
        assert exprs, panel["title"]
        for expr in exprs:
            assert referenced(expr) <= exported, f"panel {panel['title']!r} reads {referenced(expr) - exported}"
        titles.append(panel["title"])
    for wanted in ("sales per second", "Checkout latency", "Outbox", "Consumer lag", "Dead letters"):
        assert any(wanted.lower() in t.lower() for t in titles), wanted


def test_prometheus_loads_the_alert_rules_compose_mounts() -> None:
    config = yaml.safe_load((OBS / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["services"]["prometheus"]["volumes"]}
    for rule_file in config["rule_files"]:
        assert (ROOT / mounts[rule_file]).resolve() == OBS / "alerts.yml"
    scraped = config["scrape_configs"][0]["dns_sd_configs"][0]["names"]
    assert set(scraped) == {"identity", "catalog", "inventory", "sales", "payments", "reports"}
    collector = yaml.safe_load((OBS / "otel-collector.yaml").read_text())
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
