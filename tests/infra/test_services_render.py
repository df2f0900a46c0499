"""The services in the full renders, per stack and cloud: every object, the migration ordered before the rollout,
the gateway behind the TLS edge, secrets only as mounted files, scraping, and chat pointed at what serving serves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.services.catalog import DATABASE_SERVICES
from infra.services.spec import SERVICE_NAMES
from infra.serving.engine import engine_name
from infra.serving.router import router_backends
from stacks.config import parse_stack_config
from tests.infra.rendering import Render

KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount")


def app(render: Render) -> str:
    return f"helpline-{render.stack}-app"


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (only,) = obj["spec"]["template"]["spec"]["containers"]
    return only


def env_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container(obj).get("env", [])}


def test_every_service_has_its_objects(render: Render) -> None:
    for service in SERVICE_NAMES:
        for kind in KINDS:
            render.object(kind, service, app(render))


def test_each_migration_job_is_ordered_before_its_rollout_and_named_by_the_image(render: Render) -> None:
    """inventory.json: each Deployment depends on its service's migration Job; the Job's name carries the digest."""
    jobs = {r["name"]: r for r in render.of_type("kubernetes:batch/v1:Job") if "-migrate-" in r["name"]}
    for service in SERVICE_NAMES:
        (deployment,) = [
            r
            for r in render.of_type("kubernetes:apps/v1:Deployment")
            if r["name"] == f"{app(render)}-deployment-{service}"
        ]
        migrations = [
            d
            for d in deployment["dependsOn"]
            if d.startswith(f"kubernetes:batch/v1:Job::{app(render)}-job-{service}-migrate-")
        ]
        if service not in DATABASE_SERVICES:
            assert migrations == []
            continue
        (migration,) = migrations
        job = jobs[migration.split("::", 1)[1]]
        image = container(render.object("Deployment", service, app(render)))["image"]
        job_object = render.object("Job", job["inputs"]["metadata"]["name"], app(render))
        assert container(job_object)["image"] == image
        assert container(job_object)["command"] == ["python", "-m", f"app.{service}", "migrate"]


def test_the_gateway_is_the_backend_of_the_tls_route_on_the_stack_hostname(render: Render) -> None:
    host = {"dev": "chat.dev.helpline.example.com", "prod": "chat.helpline.example.com"}[render.stack]
    route = render.object("HTTPRoute", "chat-api", app(render))["spec"]
    assert route["hostnames"] == [host]
    assert [parent["sectionName"] for parent in route["parentRefs"]] == ["https"]
    (rule,) = route["rules"]
    (backend,) = rule["backendRefs"]
    service = render.object("Service", backend["name"], app(render))
    assert backend["name"] == "gateway"
    assert backend["port"] in [port["port"] for port in service["spec"]["ports"]]
    assert rule["timeouts"]["request"] == rule["timeouts"]["backendRequest"], (
        "streams are not cut before the edge's limit"
    )
    assert render.outputs["chatApiUrl"] == f"https://{host}"


def test_secrets_reach_the_pods_only_as_files_from_secrets_that_exist(render: Render) -> None:
    namespace = app(render)
    secrets = {obj["metadata"]["name"]: obj for obj in render.objects("Secret", namespace)}
    workloads = [*render.objects("Deployment", namespace), *render.objects("Job", namespace)]
    assert workloads
    engine_key_readers: set[str] = set()
    vault_key_readers: set[str] = set()
    for workload in workloads:
        name = workload["metadata"]["name"]
        assert "envFrom" not in container(workload)
        for item in container(workload)["env"]:
            assert "valueFrom" not in item, (name, item)
            assert "://" not in item["value"] or "@" not in item["value"], "credentials in a plain URL"
        projected = [v["projected"] for v in workload["spec"]["template"]["spec"]["volumes"] if "projected" in v]
        for source in (source["secret"] for volume in projected for source in volume["sources"]):
            for item in source["items"]:
                assert item["key"] in secrets[source["name"]]["stringData"], (name, source["name"], item)
            if source["name"] == "engine-api-key" and workload["kind"] == "Deployment":
                engine_key_readers.add(name)
            if source["name"] == "pii-vault-key" and workload["kind"] == "Deployment":
                vault_key_readers.add(name)
    assert engine_key_readers == {"chat"}, "the engine API key is copied into the app namespace for chat only"
    assert vault_key_readers == {"chat"}, "only chat reads the PII vault's key (a generated Secret of the stack)"


def test_each_service_is_scraped_by_exactly_one_service_monitor_on_its_http_port(render: Render) -> None:
    monitors = render.objects("ServiceMonitor")
    for service in SERVICE_NAMES:
        obj = render.object("Service", service, app(render))
        labels = obj["metadata"]["labels"]
        port_names = {port["name"] for port in obj["spec"]["ports"]}
        matching = [
            monitor
            for monitor in monitors
            if app(render) in monitor["spec"]["namespaceSelector"].get("matchNames", [])
            and monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
            and any(endpoint["port"] in port_names for endpoint in monitor["spec"]["endpoints"])
        ]
        assert len(matching) == 1, f"{service}: {[m['metadata']['name'] for m in matching]}"


def test_replicas_and_zone_spread_follow_the_environment(render: Render) -> None:
    for service in SERVICE_NAMES:
        hpa = render.object("HorizontalPodAutoscaler", service, app(render))["spec"]
        spread = render.object("Deployment", service, app(render))["spec"]["template"]["spec"][
            "topologySpreadConstraints"
        ]
        zones = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
        if render.stack == "prod":
            assert hpa["minReplicas"] >= 2
            assert [c["whenUnsatisfiable"] for c in zones] == ["DoNotSchedule"]
        else:
            assert hpa["minReplicas"] == 1
            assert zones == []


def test_chat_asks_the_router_for_the_models_it_serves(render: Render) -> None:
    chat = env_of(render.object("Deployment", "chat", app(render)))
    serving = f"helpline-{render.stack}-serving"
    assert chat["HELPLINE_ENGINE_URL"] == f"http://router.{serving}.svc.cluster.local:8080/v1"
    render.object("Service", "router", serving)
    backends = json.loads(env_of(render.object("Deployment", "router", serving))["ROUTER_BACKENDS"])
    assert {chat["HELPLINE_CHAT_MODEL"], chat["HELPLINE_CLASSIFIER_MODEL"]} == set(backends)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_simulator_serves_the_same_names_behind_the_same_router(stack: str) -> None:
    """``engine: simulator`` changes the engines behind the router, not what chat talks to: same router URL, same
    served names; only the headless Services the router watches are the simulator's."""
    config = parse_stack_config(stack, {"cloud": "aws", "awsRegion": "us-east-1", "awsZones": '["us-east-1a"]'})
    models = config.serving.models
    namespace = f"helpline-{stack}-serving"
    vllm, simulator = (
        json.loads(router_backends("vllm", models, namespace)),
        json.loads(router_backends("simulator", models, namespace)),
    )
    assert set(vllm) == set(simulator) == {model.served_model_name for model in models}
    for model in models:
        assert simulator[model.served_model_name]["kubernetes"]["service"] == engine_name("simulator", model)


def test_chat_climbs_down_the_degradation_ladder_to_the_classifier_and_links_the_status_page(render: Render) -> None:
    """fallbackModel defaults to the classifier: the model the stack already serves is chat's fallback, with its
    own context; the saturation thresholds come from the TTFT SLO the alerts use; the status page is the edge's."""
    chat = env_of(render.object("Deployment", "chat", app(render)))
    assert chat["HELPLINE_DEGRADATION_LADDER"] == "true"
    assert render.config["helpline:fallbackModel"] == "classifier"
    assert chat["HELPLINE_FALLBACK_MODEL"] == chat["HELPLINE_CLASSIFIER_MODEL"]
    classifier_len = parse_stack_config(render.stack, _plain(render.config)).serving.model("classifier").max_model_len
    assert chat["HELPLINE_FALLBACK_MAX_MODEL_LEN"] == str(classifier_len)
    assert chat["HELPLINE_DEGRADATION_TTFT_SLO_SECONDS"] == "0.5"
    assert chat["HELPLINE_STATUS_PAGE_URL"] == f"https://{render.config['helpline:chatHost']}/status/"


def _plain(config: Any) -> dict[str, str]:
    return {name.removeprefix("helpline:"): value for name, value in config.items() if name.startswith("helpline:")}


#: HELPLINE_ADMISSION_CAPACITY per committed stack: chat maxReplicas x maxNumSeqs / gatewayServiceMinReplicas.
ADMISSION_CAPACITY = {"dev": "64", "prod": "128"}  # dev 1 x 64 / 1; prod 4 x 64 / 2


def test_each_gateway_admits_its_share_of_the_chat_engines(render: Render) -> None:
    """The gateways at their HPA floor together admit what the chat engines batch at their autoscaler's ceiling."""
    gateway = env_of(render.object("Deployment", "gateway", app(render)))
    assert gateway["HELPLINE_ADMISSION_CAPACITY"] == ADMISSION_CAPACITY[render.stack]
    config = parse_stack_config(render.stack, _plain(render.config))
    floor = render.object("HorizontalPodAutoscaler", "gateway", app(render))["spec"]["minReplicas"]
    assert int(gateway["HELPLINE_ADMISSION_CAPACITY"]) * floor == config.serving.model("chat").peak_sequences
