"""The services' objects as built from their specs, checked without Pulumi: schemas, security, probes, secrets,
migrations, scaling and who may call whom. The same objects are checked again in the full renders."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from infra.data.cnpg import cluster_pods
from infra.data.component import POSTGRES_CA, REDIS_CA, REDIS_SECRET, URL_KEY, database_secret_name
from infra.data.endpoints import (
    DataConnections,
    NetworkLocation,
    SecretKeyRef,
    StoreAccess,
    postgres_ca_bundle,
    redis_ca_bundle,
)
from infra.data.network import POSTGRES_CLIENT, REDIS_CLIENT, REDIS_POD
from infra.k8s.labels import selector_labels
from infra.platform.gateway_api import EdgeAttachment, ServiceRef
from infra.services import network, workload
from infra.services.catalog import (
    DATABASE_SERVICES,
    ENGINE_API_KEY,
    INTERNAL_TOKEN,
    PII_VAULT_KEY,
    SIGNING_KEY,
    CatalogInputs,
    Models,
    admission_capacity,
    service_specs,
)
from infra.services.component import check_edge
from infra.services.spec import SERVICE_NAMES, Replicas, ServiceName, ServiceSpec
from tests.infra.schemas import validate_object

APP = "helpline-dev-app"
IMAGE = "ghcr.io/helpline-dev/helpline@sha256:" + "a" * 64


def connections(*, managed: bool) -> DataConnections:
    """What the data tier hands over: in the cluster (pods in the data namespace), or managed with private CAs."""
    if managed:
        postgres = NetworkLocation(5432, cidrs=["10.78.0.0/20"])
        redis = NetworkLocation(6378, cidrs=["10.78.0.0/20"])
    else:
        postgres = NetworkLocation(5432, namespace="helpline-dev-data", pod_labels=cluster_pods())
        redis = NetworkLocation(6379, namespace="helpline-dev-data", pod_labels=REDIS_POD)
    return DataConnections(
        databases={
            name: StoreAccess(
                SecretKeyRef(database_secret_name(name), URL_KEY),
                postgres,
                postgres_ca_bundle(POSTGRES_CA) if managed else None,
            )
            for name in DATABASE_SERVICES
        },
        redis=StoreAccess(SecretKeyRef(REDIS_SECRET, URL_KEY), redis, redis_ca_bundle(REDIS_CA) if managed else None),
    )


def sample_specs(*, managed: bool = False) -> dict[ServiceName, ServiceSpec]:
    return service_specs(sample_inputs(managed=managed))


def sample_inputs(*, managed: bool = False) -> CatalogInputs:
    return CatalogInputs(
        stack="dev",
        namespace=APP,
        serving_namespace="helpline-dev-serving",
        monitoring_namespace="helpline-dev-monitoring",
        otlp_endpoint="http://otel-collector.helpline-dev-monitoring:4318",
        models=Models(
            "http://router.helpline-dev-serving.svc.cluster.local:8080/v1",
            "qwen2.5-7b-instruct",
            "qwen2.5-1.5b-instruct",
            8192,
            chat_peak_sequences=256,
        ),
        data=connections(managed=managed),
        replicas=dict.fromkeys(SERVICE_NAMES, Replicas(2, 6, 70)),
        stream_drain_seconds=180,
        retention_days=90,
        log_level="INFO",
        trusted_proxy_cidrs=("10.40.0.0/16",),
    )


def objects_of(spec: ServiceSpec, *, prod: bool = False) -> list[dict[str, Any]]:
    built = [
        workload.deployment(
            spec,
            namespace=APP,
            stack="dev",
            image=IMAGE,
            spread_across_zones=prod,
            rollout_annotations={workload.ROLLOUT_ANNOTATION: "1"},
        ),
        workload.service(spec, namespace=APP, stack="dev"),
        workload.autoscaler(spec, namespace=APP, stack="dev"),
        workload.pod_disruption_budget(spec, namespace=APP, stack="dev"),
        workload.service_account(spec, namespace=APP, stack="dev"),
        network.service_policy(spec, APP, {}),
    ]
    if spec.migrates:
        built.append(workload.migration_job(spec, namespace=APP, stack="dev", image=IMAGE))
        built.append(network.migration_policy(spec, APP, {"to": [], "ports": []}, {}))
    return built


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (only,) = obj["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("managed", [False, True], ids=["in-cluster", "managed"])
@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_object_passes_strict_schema_validation(service: ServiceName, managed: bool) -> None:
    for obj in objects_of(sample_specs(managed=managed)[service], prod=managed):
        validate_object(obj, "1.34")


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_pods_run_restricted_with_a_read_only_root_and_bounded_resources(service: ServiceName) -> None:
    deployment = workload.deployment(
        sample_specs()[service],
        namespace=APP,
        stack="dev",
        image=IMAGE,
        spread_across_zones=False,
        rollout_annotations={},
    )
    pod = deployment["spec"]["template"]["spec"]
    main = container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == service
    assert main["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"requests", "limits"} <= set(main["resources"])
    assert {"cpu", "memory"} == set(main["resources"]["limits"])
    assert re.fullmatch(r".+@sha256:[0-9a-f]{64}", main["image"])
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_probes_use_the_http_port_and_stopping_drains_before_the_kill(service: ServiceName) -> None:
    spec = sample_specs()[service]
    deployment = workload.deployment(
        spec, namespace=APP, stack="dev", image=IMAGE, spread_across_zones=False, rollout_annotations={}
    )
    main = container(deployment)
    assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert main["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    drain = int(spec.env["HELPLINE_SHUTDOWN_GRACE_SECONDS"])
    assert drain == (180 if service in ("gateway", "chat") else 25), "streams get the stream drain"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace == main["lifecycle"]["preStop"]["sleep"]["seconds"] + drain + workload.EXIT_MARGIN_SECONDS


def test_zone_spread_is_strict_in_prod_only() -> None:
    spec = sample_specs()["chat"]

    def keys(prod: bool) -> dict[str, str]:
        deployment = workload.deployment(
            spec, namespace=APP, stack="dev", image=IMAGE, spread_across_zones=prod, rollout_annotations={}
        )
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        return {constraint["topologyKey"]: constraint["whenUnsatisfiable"] for constraint in spread}

    assert keys(prod=False) == {"kubernetes.io/hostname": "ScheduleAnyway"}
    assert keys(prod=True) == {
        "kubernetes.io/hostname": "ScheduleAnyway",
        "topology.kubernetes.io/zone": "DoNotSchedule",
    }


#: Which secret each service reads, and through which variable.
EXPECTED_SECRETS = {
    "gateway": {"HELPLINE_INTERNAL_TOKEN_SECRET": INTERNAL_TOKEN, "HELPLINE_REDIS_URL": SecretKeyRef("redis", "url")},
    "auth": {
        "HELPLINE_INTERNAL_TOKEN_SECRET": INTERNAL_TOKEN,
        "HELPLINE_DATABASE_URL": SecretKeyRef("auth-database", "url"),
        "HELPLINE_REDIS_URL": SecretKeyRef("redis", "url"),
        "HELPLINE_JWT_PRIVATE_KEY": SIGNING_KEY,
    },
    "sessions": {
        "HELPLINE_INTERNAL_TOKEN_SECRET": INTERNAL_TOKEN,
        "HELPLINE_DATABASE_URL": SecretKeyRef("sessions-database", "url"),
        "HELPLINE_EVENTS_NATS_URL": SecretKeyRef("nats-client", "url"),
    },
    "chat": {
        "HELPLINE_INTERNAL_TOKEN_SECRET": INTERNAL_TOKEN,
        "HELPLINE_DATABASE_URL": SecretKeyRef("chat-database", "url"),
        "HELPLINE_ENGINE_API_KEY": ENGINE_API_KEY,
        "HELPLINE_PII_VAULT_KEY": PII_VAULT_KEY,
    },
}


def mounted_secrets(pod: dict[str, Any]) -> dict[str, SecretKeyRef]:
    """File name in the secrets directory -> the Secret key the kubelet writes there."""
    (volume,) = [volume for volume in pod["volumes"] if volume["name"] == workload.SECRETS_VOLUME]
    return {
        item["path"]: SecretKeyRef(source["secret"]["name"], item["key"])
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_reads_exactly_its_secrets_and_only_as_files(service: ServiceName) -> None:
    spec = sample_specs()[service]
    deployment = workload.deployment(
        spec, namespace=APP, stack="dev", image=IMAGE, spread_across_zones=False, rollout_annotations={}
    )
    pod, main = deployment["spec"]["template"]["spec"], container(deployment)
    assert mounted_secrets(pod) == EXPECTED_SECRETS[service]
    (volume,) = [volume for volume in pod["volumes"] if volume["name"] == workload.SECRETS_VOLUME]
    assert volume["projected"]["defaultMode"] == 0o440, "owner and group (the pod's fsGroup) read, nobody writes"
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"], "the service's group reads them"
    (mount,) = [mount for mount in main["volumeMounts"] if mount["name"] == workload.SECRETS_VOLUME]
    assert mount == {"name": workload.SECRETS_VOLUME, "mountPath": workload.SECRETS_DIR, "readOnly": True}
    assert not [item for item in main["env"] if "valueFrom" in item], "no secret in the environment"
    assert "envFrom" not in main
    plain = {item["name"]: item["value"] for item in main["env"]}
    assert plain.pop(workload.SECRETS_DIR_VARIABLE) == workload.SECRETS_DIR  # a path, not a secret
    assert not set(plain) & set(EXPECTED_SECRETS[service])
    assert not [
        name for name in plain if re.search(r"SECRET|PASSWORD|TOKEN|KEY|_URL$", name) and "://" not in plain[name]
    ]
    assert not [value for value in plain.values() if re.search(r"://[^/]*:[^/]*@", value)], "credentials in a URL"


def test_managed_stores_bring_their_ca_to_exactly_their_clients() -> None:
    specs = sample_specs(managed=True)
    mounts = {
        name: {m["mountPath"] for m in container(objects_of(spec)[0])["volumeMounts"]} for name, spec in specs.items()
    }
    common = {"/tmp", workload.SECRETS_DIR}
    assert mounts["gateway"] == {*common, "/etc/helpline/tls/redis"}
    assert mounts["auth"] == {*common, "/etc/helpline/tls/postgres", "/etc/helpline/tls/redis"}
    assert mounts["sessions"] == mounts["chat"] == {*common, "/etc/helpline/tls/postgres"}
    env = {item["name"]: item.get("value") for item in container(objects_of(specs["sessions"])[0])["env"]}
    assert env["PGSSLROOTCERT"] == "/etc/helpline/tls/postgres/ca.crt"


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_the_migration_job_runs_the_service_migrate_command_with_the_service_settings(service: ServiceName) -> None:
    spec = sample_specs()[service]
    job = workload.migration_job(spec, namespace=APP, stack="dev", image=IMAGE)
    deployment = workload.deployment(
        spec, namespace=APP, stack="dev", image=IMAGE, spread_across_zones=False, rollout_annotations={}
    )
    assert container(job)["command"] == ["python", "-m", f"app.{service}", "migrate"]
    assert container(job)["env"] == container(deployment)["env"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert "ttlSecondsAfterFinished" not in job["spec"], "Pulumi would recreate a garbage-collected Job"
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    selector = workload.service(spec, namespace=APP, stack="dev")["spec"]["selector"]
    assert not selector.items() <= pod_labels.items(), "the Service must not route traffic to a migration"
    assert POSTGRES_CLIENT.items() <= pod_labels.items()


def test_a_new_image_is_a_new_migration_job_and_the_same_image_the_same_job() -> None:
    spec = sample_specs()["sessions"]
    first = workload.migration_job_name(spec, IMAGE)
    assert workload.migration_job_name(spec, IMAGE) == first
    assert workload.migration_job_name(spec, IMAGE.replace("a" * 64, "b" * 64)) != first
    assert re.fullmatch(r"sessions-migrate-[0-9a-f]{10}", first)
    with pytest.raises(ValueError, match="owns no schema"):
        workload.migration_job(sample_specs()["gateway"], namespace=APP, stack="dev", image=IMAGE)


def test_the_autoscaler_owns_the_replica_range_on_cpu() -> None:
    hpa = workload.autoscaler(sample_specs()["gateway"], namespace=APP, stack="dev")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}


def _peers(rules: list[dict[str, Any]], key: str) -> set[tuple[str, str, int]]:
    """(namespace, pod name label or CIDR, port) of each rule's peers."""
    found = set()
    for rule in rules:
        for item in rule[key]:
            if "ipBlock" in item:
                who = ("", item["ipBlock"]["cidr"])
            else:
                namespace = item["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                labels = item["podSelector"]["matchLabels"]
                who = (namespace, labels.get("app.kubernetes.io/name") or labels.get("cnpg.io/cluster", ""))
            found |= {(*who, port["port"]) for port in rule["ports"]}
    return found


def test_network_policies_follow_the_request_path() -> None:
    policies = {name: network.service_policy(spec, APP, {})["spec"] for name, spec in sample_specs().items()}
    data, serving, monitoring = "helpline-dev-data", "helpline-dev-serving", "helpline-dev-monitoring"
    traces = (monitoring, "opentelemetry-collector", 4318)
    assert "ingress" not in policies["gateway"], "the platform's allow-edge-to-gateway admits the edge"
    assert _peers(policies["auth"]["ingress"], "from") == {(APP, "gateway", 8080)}
    assert _peers(policies["sessions"]["ingress"], "from") == {(APP, "gateway", 8080), (APP, "chat", 8080)}
    assert _peers(policies["chat"]["ingress"], "from") == {(APP, "gateway", 8080)}
    assert _peers(policies["gateway"]["egress"], "to") == {
        (APP, "auth", 8080),
        (APP, "sessions", 8080),
        (APP, "chat", 8080),
        (data, "redis", 6379),
        traces,
    }
    assert _peers(policies["auth"]["egress"], "to") == {(data, "postgres", 5432), (data, "redis", 6379), traces}
    # sessions publishes lifecycle events to NATS and POSTs tenants' webhooks: the internet on 443, no private range
    assert _peers(policies["sessions"]["egress"], "to") == {
        (data, "postgres", 5432),
        (APP, "nats", 4222),
        ("", "0.0.0.0/0", 443),
        traces,
    }
    (webhooks,) = [rule for rule in policies["sessions"]["egress"] if "ipBlock" in rule["to"][0]]
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        webhooks["to"][0]["ipBlock"]["except"]
    )
    assert _peers(policies["chat"]["egress"], "to") == {
        (APP, "sessions", 8080),
        (serving, "router", 8080),
        (data, "postgres", 5432),
        traces,
    }


def test_only_the_stores_clients_carry_the_labels_the_data_tier_admits() -> None:
    specs = sample_specs()
    postgres = {name for name, spec in specs.items() if POSTGRES_CLIENT.items() <= spec.access_labels.items()}
    redis = {name for name, spec in specs.items() if REDIS_CLIENT.items() <= spec.access_labels.items()}
    assert postgres == {"auth", "sessions", "chat"}
    assert redis == {"gateway", "auth"}


def test_chat_talks_to_the_router_with_the_served_model_names() -> None:
    env = sample_specs()["chat"].env
    assert env["HELPLINE_ENGINE_URL"] == "http://router.helpline-dev-serving.svc.cluster.local:8080/v1"
    assert (env["HELPLINE_CHAT_MODEL"], env["HELPLINE_CLASSIFIER_MODEL"]) == (
        "qwen2.5-7b-instruct",
        "qwen2.5-1.5b-instruct",
    )
    assert env["HELPLINE_SESSIONS_URL"] == f"http://sessions.{APP}.svc.cluster.local:8080"


def test_the_gateway_admits_the_chat_engines_peak_split_over_its_fewest_replicas() -> None:
    """256 peak sequences over a floor of 2 gateways: 128 each, whatever the HPA's ceiling; a floor above the peak
    still admits one turn per process (the setting's minimum)."""
    assert sample_specs()["gateway"].env["HELPLINE_ADMISSION_CAPACITY"] == "128"
    assert admission_capacity(256, Replicas(2, 10, 70)) == 128
    assert admission_capacity(100, Replicas(3, 6, 70)) == 33  # rounded down: the floor never admits more than the peak
    assert admission_capacity(4, Replicas(8, 8, 70)) == 1


def test_the_service_selects_the_deployment_pods_and_names_its_port_http() -> None:
    for spec in sample_specs().values():
        service = workload.service(spec, namespace=APP, stack="dev")
        deployment = workload.deployment(
            spec, namespace=APP, stack="dev", image=IMAGE, spread_across_zones=False, rollout_annotations={}
        )
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"] == selector_labels(spec.name)
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
        assert service["metadata"]["labels"]["app.kubernetes.io/part-of"] == "helpline"


def test_the_services_refuse_an_edge_that_routes_elsewhere_than_the_gateway_service() -> None:
    edge = EdgeAttachment(
        "edge-class",
        "edge",
        "helpline-dev-ingress",
        "https",
        "chat.example.com",
        ServiceRef(APP, "gateway", 8080),
        "t",
        "i",
    )
    check_edge(edge, APP)
    with pytest.raises(ValueError, match="public service"):
        check_edge(replace(edge, backend=ServiceRef(APP, "gateway", 80)), APP)


def test_the_gateway_trusts_forwarded_headers_only_from_the_pod_ranges() -> None:
    """Not ``*``: a peer outside the cluster's pod addresses cannot choose its client address (issue 11)."""
    env = sample_specs()["gateway"].env
    assert env["HELPLINE_FORWARDED_ALLOW_IPS"] == "10.40.0.0/16"
    assert all(
        "HELPLINE_FORWARDED_ALLOW_IPS" not in spec.env for name, spec in sample_specs().items() if name != "gateway"
    )
