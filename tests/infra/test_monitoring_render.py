"""The monitoring stage as rendered: secrets only in Secrets, routing by severity, nothing public, storage per stack.

Read from the session's renders of the whole program: the committed stacks (no webhook set) and the variants, which
set both webhook URLs as secrets (rendering.VARIANTS). Strict schema validation, the leak scan and checkov run on
every render in test_render_integrity.py and test_checkov.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.aws.storage import BLOCK_STORAGE_CLASS as AWS_BLOCK_CLASS
from infra.capacity.gpus import PRICES_AS_OF, gpu_profile
from infra.gcp.storage import BLOCK_STORAGE_CLASS as GCP_BLOCK_CLASS
from infra.platform.alerts import load_rule_file, rule_file_name, rule_files
from infra.platform.logging_pipeline import JSON_FIELDS, LABEL_FIELDS, METADATA_FIELDS
from infra.platform.monitoring import Receiver
from infra.platform.monitoring_alertmanager import RECEIVERS_SECRET, url_file
from infra.platform.monitoring_values import GRAFANA_ADMIN_SECRET
from stacks.program import ALERT_WEBHOOK_KEYS
from stacks.render.recorder import SECRET_MASK
from stacks.render.stack_files import placeholder_secret
from tests.infra.promtool import run_promtool
from tests.infra.rendering import Render
from tests.support.shared_data import shared_file

MONITORING_RELEASES = ("kube-prometheus-stack", "loki", "alloy", "tempo", "otel-collector")


@pytest.fixture
def rendered(any_render: Render) -> Render:
    """Every render, variants included: what follows holds whatever the stack sets."""
    return any_render


def namespace(render: Render) -> str:
    return f"helpline-{render.stack}-monitoring"


def values(render: Render, release: str) -> dict[str, Any]:
    return render.helm_releases[release]["values"]


def mine(render: Render) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path, obj in zip(render.manifest_files, render.manifests, strict=True):
        if obj["metadata"].get("namespace") == namespace(render):
            yield path, obj


def webhooks_set(render: Render) -> set[Receiver]:
    """The receivers whose webhook URL this render's stack sets."""
    return {receiver for receiver, key in ALERT_WEBHOOK_KEYS.items() if render.sets_secret(key)}


def test_monitoring_declares_its_kinds_of_objects(rendered: Render) -> None:
    """(Strict schema validation of every object: test_render_integrity.py.)"""
    kinds = {obj["kind"] for _, obj in mine(rendered)}
    assert {"ServiceMonitor", "PrometheusRule", "ConfigMap", "Secret", "NetworkPolicy"} <= kinds


def test_grafana_admin_password_is_generated_and_only_in_a_secret(rendered: Render) -> None:
    password = rendered.one("random:index/randomPassword:RandomPassword", "grafana-admin-password")
    assert password["inputs"]["length"] >= 32
    secret = rendered.object("Secret", GRAFANA_ADMIN_SECRET, namespace(rendered))
    assert secret["stringData"] == {"admin-user": SECRET_MASK, "admin-password": SECRET_MASK}
    entry = next(r for r in rendered.of_type("kubernetes:core/v1:Secret") if r["name"].endswith(GRAFANA_ADMIN_SECRET))
    assert "stringData" in entry["secretInputs"]
    grafana = values(rendered, "kube-prometheus-stack")["grafana"]
    assert grafana["admin"]["existingSecret"] == GRAFANA_ADMIN_SECRET
    assert "adminPassword" not in json.dumps(rendered.helm_releases)


def test_alertmanager_routes_by_severity_to_the_configured_receivers(all_renders: dict[str, Render]) -> None:
    schema = json.loads(shared_file("json-schemas", "prometheus-alertmanager.json").read_text())
    assert {bool(webhooks_set(render)) for render in all_renders.values()} == {True, False}, "both cases rendered"
    for render in all_renders.values():
        alertmanager = values(render, "kube-prometheus-stack")["alertmanager"]
        config = alertmanager["config"]
        jsonschema.validate(config, schema)
        routes = {tuple(route["matchers"]): route["receiver"] for route in config["route"]["routes"]}
        assert routes[('severity = "critical"',)] == "pager"
        assert routes[('severity = "warning"',)] == "chat"
        assert routes[('alertname = "Watchdog"',)] == "null"
        assert config["route"]["receiver"] == "null"
        assert config["inhibit_rules"][0]["source_matchers"] == ['severity = "critical"']
        hooks = {r["name"]: r["webhook_configs"] for r in config["receivers"] if "webhook_configs" in r}
        assert hooks == {
            receiver: [{"url_file": url_file(receiver), "send_resolved": True, "max_alerts": 20}]
            for receiver in sorted(webhooks_set(render))
        }, render.id
        assert alertmanager["alertmanagerSpec"]["secrets"] == ([RECEIVERS_SECRET] if hooks else []), render.id
        if render.stack == "prod":
            assert alertmanager["alertmanagerSpec"]["replicas"] == 3


def test_webhook_urls_are_only_in_the_receivers_secret_and_masked(all_renders: dict[str, Render]) -> None:
    for render in all_renders.values():
        receivers = [
            obj for obj in render.objects("Secret", namespace(render)) if obj["metadata"]["name"] == RECEIVERS_SECRET
        ]
        if not webhooks_set(render):
            assert not receivers, render.id
            continue
        (secret,) = receivers
        assert secret["stringData"] == {f"{receiver}-url": SECRET_MASK for receiver in webhooks_set(render)}
        placeholders = {placeholder_secret(f"helpline:{key}") for key in ALERT_WEBHOOK_KEYS.values()}
        assert placeholders <= render.secret_values, "the render knows the webhook values it must not write"
        assert not any(p in path.read_text() for p in placeholders for path in render.path.rglob("*.yaml"))


def test_nothing_in_monitoring_is_public(rendered: Render) -> None:
    objects = [obj for _, obj in mine(rendered)]
    assert not [obj for obj in objects if obj["kind"] in ("Ingress", "HTTPRoute", "Gateway")]
    assert not [obj for obj in objects if obj["kind"] == "Service" and obj["spec"].get("type") != "ClusterIP"]
    stack_values = values(rendered, "kube-prometheus-stack")
    for component in ("grafana", "prometheus", "alertmanager"):
        assert stack_values[component]["ingress"] == {"enabled": False}
        assert stack_values[component]["service"]["type"] == "ClusterIP"
    assert values(rendered, "otel-collector")["service"]["type"] == "ClusterIP"
    assert values(rendered, "loki")["gateway"] == {"enabled": False}
    assert stack_values["grafana"]["grafana.ini"]["auth.anonymous"] == {"enabled": False}


def test_storage_is_sized_per_stack_on_the_block_storage_class(all_renders: dict[str, Render]) -> None:
    expected = {
        "dev": ("7d", "20Gi", 1, "10Gi", "72h", "10Gi", "48h"),
        "prod": ("30d", "200Gi", 2, "100Gi", "720h", "50Gi", "168h"),
    }
    for render in all_renders.values():
        retention, size, replicas, loki_size, loki_retention, tempo_size, tempo_retention = expected[render.stack]
        block_class = AWS_BLOCK_CLASS if render.cloud == "aws" else GCP_BLOCK_CLASS
        spec = values(render, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
        claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert (spec["retention"], claim["resources"]["requests"]["storage"], spec["replicas"]) == (
            retention,
            size,
            replicas,
        )
        assert claim["storageClassName"] == block_class
        assert spec["retentionSize"] == f"{int(int(size[:-2]) * 0.85)}GB"
        loki = values(render, "loki")
        assert loki["singleBinary"]["persistence"] == {
            "enabled": True,
            "size": loki_size,
            "storageClass": block_class,
        }
        assert loki["loki"]["limits_config"]["retention_period"] == loki_retention
        tempo = values(render, "tempo")
        assert (tempo["persistence"]["size"], tempo["tempo"]["retention"]) == (tempo_size, tempo_retention)


def test_every_monitoring_chart_is_pinned_with_an_explicit_repository(rendered: Render) -> None:
    for release in MONITORING_RELEASES:
        helm = rendered.helm_releases[release]
        assert re.fullmatch(r"\d+\.\d+\.\d+", helm["version"]), release
        assert helm["repositoryOpts"]["repo"].startswith("https://"), release
        assert helm["namespace"] == namespace(rendered)


def test_service_monitors_follow_the_scrape_convention(rendered: Render) -> None:
    monitors = {obj["metadata"]["name"]: obj["spec"] for obj in rendered.objects("ServiceMonitor", namespace(rendered))}
    assert set(monitors) == {"vllm", "router", "services", "dcgm-exporter", "cert-manager"}
    vllm = monitors["vllm"]
    assert vllm["selector"]["matchLabels"]["app.kubernetes.io/component"] == "engine"
    assert vllm["namespaceSelector"] == {"matchNames": [f"helpline-{rendered.stack}-serving"]}
    assert vllm["endpoints"][0]["port"] == "http"
    assert {"action": "replace", "targetLabel": "job", "replacement": "vllm"} in vllm["endpoints"][0]["relabelings"]
    assert monitors["services"]["jobLabel"] == "app.kubernetes.io/name"
    assert monitors["services"]["endpoints"][0]["honorLabels"] is True
    assert monitors["dcgm-exporter"]["namespaceSelector"] == {"matchNames": [f"helpline-{rendered.stack}-platform"]}


def test_prometheus_rules_are_the_rule_files(rendered: Render, tmp_path: Path) -> None:
    rules = {obj["metadata"]["name"]: obj["spec"] for obj in rendered.objects("PrometheusRule", namespace(rendered))}
    cost_inputs = rules.pop("helpline-cost-inputs")
    assert rules == {f"helpline-{rule_file_name(path)}": load_rule_file(path) for path in rule_files()}
    price, budget = cost_inputs["groups"][0]["rules"]
    assert price["record"] == "helpline:gpu_hour_price_dollars"
    assert budget == {"record": "helpline:gpu_daily_budget_dollars", "expr": "vector(0)"}


def test_the_gpu_price_is_the_dated_list_price_unless_the_stack_sets_one(renders: dict[str, Render]) -> None:
    """The committed stacks set no gpuHourPrice: each records the list price of its cloud, GPU and capacity."""
    for name in ("dev-aws", "prod-gcp"):
        spec = next(
            obj["spec"]
            for obj in renders[name].objects("PrometheusRule", namespace(renders[name]))
            if obj["metadata"]["name"] == "helpline-cost-inputs"
        )
        price = spec["groups"][0]["rules"][0]
        labels = price["labels"]
        expected = gpu_profile(labels["gpu_type"]).hourly_price(labels["cloud"], labels["capacity"])
        assert price["expr"] == f"vector({expected:g})"
        assert labels["price_source"] == f"list price {PRICES_AS_OF}"


@pytest.mark.promtool
def test_promtool_accepts_the_rendered_rules(renders: dict[str, Render], tmp_path: Path) -> None:
    render = renders["prod-gcp"]
    files = []
    for obj in render.objects("PrometheusRule", namespace(render)):
        path = tmp_path / f"{obj['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(obj["spec"]))
        files.append(str(path))
    result = run_promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_are_provisioned_for_the_grafana_sidecar(rendered: Render) -> None:
    schema = json.loads(shared_file("json-schemas", "grafana-dashboard-5.x.json").read_text())
    sidecar = values(rendered, "kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    maps = [
        m for m in rendered.objects("ConfigMap", namespace(rendered)) if m["metadata"]["name"].startswith("dashboard-")
    ]
    assert len(maps) == 5
    for config_map in maps:
        assert config_map["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"]
        assert sidecar["folderAnnotation"] in config_map["metadata"]["annotations"]
        ((name, text),) = config_map["data"].items()
        dashboard = json.loads(text)
        assert name == f"{dashboard['uid']}.json"
        jsonschema.validate({"dashboard": dashboard}, schema)


def test_grafana_links_logs_and_traces_both_ways(rendered: Render) -> None:
    sources = {s["uid"]: s for s in values(rendered, "kube-prometheus-stack")["grafana"]["additionalDataSources"]}
    (derived,) = sources["loki"]["jsonData"]["derivedFields"]
    assert derived["datasourceUid"] == "tempo"
    line = '{"event": "answered", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "service": "chat"}'
    assert re.search(derived["matcherRegex"], line).group(1) == "4bf92f3577b34da6a3ce929d0e0e4736"  # type: ignore[union-attr]
    assert sources["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert sources["tempo"]["url"] == f"http://tempo.{namespace(rendered)}.svc:3200"


def test_alloy_ships_our_namespaces_to_loki_parsing_json(rendered: Render) -> None:
    config = values(rendered, "alloy")["alloy"]["configMap"]["content"]
    assert f'url = "http://loki.{namespace(rendered)}.svc:3100/loki/api/v1/push"' in config
    assert f"helpline-{rendered.stack}-app" in config
    for field in JSON_FIELDS:
        assert f'{field} = "{field}"' in config
    assert values(rendered, "alloy")["controller"]["type"] == "deployment"
    assert values(rendered, "alloy")["alloy"]["mounts"]["varlog"] is False


def test_otel_collector_receives_otlp_and_exports_to_tempo(rendered: Render) -> None:
    collector = values(rendered, "otel-collector")
    config = collector["alternateConfig"]
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert config["exporters"]["otlp"]["endpoint"] == f"tempo.{namespace(rendered)}.svc:4317"
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlp"]
    assert "health_check" in config["service"]["extensions"]
    # the endpoint the stage hands on is where the services send their traces
    endpoints = {
        env["value"]
        for deployment in rendered.objects("Deployment", f"helpline-{rendered.stack}-app")
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for env in container.get("env", [])
        if env["name"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
    }
    assert endpoints == {f"http://otel-collector.{namespace(rendered)}:4318"}


def test_label_and_metadata_fields_come_from_the_json_fields() -> None:
    assert set(LABEL_FIELDS) | set(METADATA_FIELDS) <= set(JSON_FIELDS)
    assert not set(LABEL_FIELDS) & set(METADATA_FIELDS)
