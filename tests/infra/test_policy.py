"""The policy pack's rules as plain functions: every render passes them all, every planted bad resource is caught.

Each render is checked with the pack config of its environment (config/dev.json or config/prod.json), so the test
also proves the shipped config files let the stacks through. Planted resources are small, schema-shaped inputs as the
engine would hand them to CrossGuard (camelCase, type tokens of pulumi-aws 7, pulumi-gcp 10 and Kubernetes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema
import pytest

from infra.data import redis
from infra.data.cnpg import postgres_cluster
from infra.naming import CONCERNS
from infra.platform.gateway_api import EdgeAttachment, ServiceRef, chat_route, gateway, redirect_route
from infra.platform.namespaces import namespace_object
from infra.policy.catalog import RESOURCE_RULES, STACK_RULES, rule_names
from infra.policy.model import Resource, StackRule, Violation
from tests.infra.rendering import ROOT, Render

CONFIG_DIR = ROOT / "infra" / "policy" / "config"
DIGEST = "sha256:" + "a" * 64
RULES = {rule.name: rule for rule in (*RESOURCE_RULES, *STACK_RULES)}


def pack_config(stack: str) -> dict[str, Any]:
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def rule_config(stack: str, rule: str) -> Mapping[str, Any]:
    entry = pack_config(stack).get(rule, {})
    return {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}


def evaluate_all(resources: list[Resource], stack: str = "prod") -> list[Violation]:
    violations: list[Violation] = []
    for rule in RESOURCE_RULES:
        for resource in resources:
            violations += rule.evaluate(resource, rule_config(stack, rule.name))
    for stack_rule in STACK_RULES:
        violations += stack_rule.evaluate(resources, rule_config(stack, stack_rule.name))
    return violations


def resources_of(render: Render) -> list[Resource]:
    return [Resource(entry["type"], entry["name"], entry["inputs"]) for entry in render.resources]


def test_every_rule_passes_on_the_render(render: Render) -> None:
    violations = evaluate_all(resources_of(render), render.stack)
    assert not violations, f"{render.id}:\n" + "\n".join(map(str, violations))


# --- known-good inputs from the platform's own builders ------------------------------------------------------------

ATTACHMENT = EdgeAttachment(
    gateway_class="helpline-prod-edge",
    gateway_name="edge",
    gateway_namespace="helpline-prod-ingress",
    https_listener="https",
    hostname="chat.example.com",
    backend=ServiceRef("helpline-prod-app", "gateway", 8080),
    tls_secret_name="chat-api-tls",
    cluster_issuer="letsencrypt-production",
)


def k8s(obj: dict[str, Any]) -> Resource:
    group_version = obj["apiVersion"] if "/" in obj["apiVersion"] else f"core/{obj['apiVersion']}"
    return Resource(f"kubernetes:{group_version}:{obj['kind']}", obj["metadata"]["name"], obj)


def edge_resources() -> list[Resource]:
    return [
        k8s(gateway(ATTACHMENT, "helpline-prod-app", {}, {})),
        k8s(redirect_route(ATTACHMENT, {})),
        k8s(chat_route(ATTACHMENT, 600, {})),
    ]


def test_the_platform_edge_and_namespaces_as_built_pass() -> None:
    namespaces = [k8s(namespace_object(f"helpline-prod-{c}", c, "prod", "1.34")) for c in CONCERNS]
    assert not evaluate_all([*edge_resources(), *namespaces])


def test_the_in_cluster_data_tier_as_built_passes() -> None:
    """The data tier's own builders (dev's CloudNativePG cluster and Redis StatefulSet) on an encrypted block class."""
    namespace, labels, block = "helpline-dev-data", {"app.kubernetes.io/part-of": "helpline"}, "encrypted-block"
    resources = [
        storage_class(block, "true"),
        k8s(postgres_cluster(namespace=namespace, labels=labels, storage_class=block, storage_gi=10)),
        k8s(redis.stateful_set(namespace=namespace, labels=labels, storage_class=block, storage_gi=2, config_hash="x")),
        k8s(redis.service(namespace, labels)),
    ]
    assert [r.kind for r in resources] == ["StorageClass", "Cluster", "StatefulSet", "Service"]
    assert not evaluate_all(resources, "dev")


# --- planted bad resources -----------------------------------------------------------------------------------------


def container(name: str = "app", **overrides: Any) -> dict[str, Any]:
    good = {
        "name": name,
        "image": f"ghcr.io/helpline-dev/helpline@{DIGEST}",
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
    }
    return {**good, **overrides}


def workload(kind: str = "Deployment", pod: dict[str, Any] | None = None, name: str = "gateway") -> Resource:
    pod_spec = pod if pod is not None else {"containers": [container()]}
    group = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
    spec: dict[str, Any] = (
        {"jobTemplate": {"spec": {"template": template}}} if kind == "CronJob" else {"template": template}
    )
    obj = {
        "apiVersion": group,
        "kind": kind,
        "metadata": {"name": name, "namespace": "helpline-prod-app"},
        "spec": spec,
    }
    return Resource(f"kubernetes:{group}:{kind}", name, obj)


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def namespace(name: str, labels: dict[str, str]) -> Resource:
    return k8s({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


def gateway_with(listeners: list[dict[str, Any]]) -> Resource:
    obj = gateway(ATTACHMENT, "helpline-prod-app", {}, {})
    obj["spec"]["listeners"] = listeners
    return k8s(obj)


def content_on_http() -> list[Resource]:
    route = chat_route(ATTACHMENT, 600, {})
    route["metadata"]["name"] = "sneaky"
    route["spec"]["parentRefs"][0]["sectionName"] = "http"
    return [k8s(gateway(ATTACHMENT, "helpline-prod-app", {}, {})), k8s(route)]


def cloud(type_token: str, name: str, **props: Any) -> Resource:
    return Resource(type_token, name, props)


def storage_class(name: str, encrypted: str, default: bool = False) -> Resource:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    obj = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": encrypted},
    }
    return Resource("kubernetes:storage.k8s.io/v1:StorageClass", name, obj)


def cnpg_cluster(
    storage_class_name: str, image: str | None = f"ghcr.io/cloudnative-pg/postgresql:17@{DIGEST}"
) -> Resource:
    spec: dict[str, Any] = {"instances": 1, "storage": {"size": "10Gi", "storageClass": storage_class_name}}
    if image is not None:
        spec["imageName"] = image
    obj = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "postgres", "namespace": "helpline-dev-data"},
        "spec": spec,
    }
    return Resource("kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres", obj)


def service(service_type: str, port: int) -> Resource:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "redis", "namespace": "helpline-dev-data"},
        "spec": {"type": service_type, "ports": [{"port": port, "targetPort": port}], "selector": {"app": "redis"}},
    }
    return Resource("kubernetes:core/v1:Service", "redis", obj)


#: (rule, what is planted, the resources; the last one is the culprit)
PLANTED: list[tuple[str, str, list[Resource]]] = [
    (
        "no-host-namespaces-or-privileged",
        "hostNetwork",
        [workload(pod={"hostNetwork": True, "containers": [container()]})],
    ),
    (
        "no-host-namespaces-or-privileged",
        "hostPID",
        [workload("DaemonSet", {"hostPID": True, "containers": [container()]})],
    ),
    (
        "no-host-namespaces-or-privileged",
        "privileged init container",
        [
            workload(
                pod={
                    "initContainers": [container("init", securityContext={"privileged": True})],
                    "containers": [container()],
                }
            )
        ],
    ),
    (
        "no-trust-remote-code",
        "flag in args",
        [
            workload(
                pod={"containers": [container("vllm", command=["vllm", "serve"], args=["m", "--trust-remote-code"])]}
            )
        ],
    ),
    (
        "no-trust-remote-code",
        "flag=true in a Job",
        [
            workload(
                "Job", {"containers": [container("warm", args=["--trust-remote-code=true"])], "restartPolicy": "Never"}
            )
        ],
    ),
    (
        "no-trust-remote-code",
        "Helm values",
        [
            cloud(
                "kubernetes:helm.sh/v3:Release",
                "vllm-stack",
                values={"servingEngineSpec": {"extraArgs": ["--trust-remote-code"]}},
            )
        ],
    ),
    (
        "probes-and-limits",
        "no memory limit",
        [workload(pod={"containers": [container(resources={"limits": {"cpu": "1"}})]})],
    ),
    (
        "probes-and-limits",
        "no readiness probe",
        [workload(pod={"containers": [without(container(), "readinessProbe")]})],
    ),
    (
        "probes-and-limits",
        "no liveness probe",
        [workload("StatefulSet", {"containers": [without(container(), "livenessProbe")]})],
    ),
    (
        "probes-and-limits",
        "init container without limits",
        [workload(pod={"initContainers": [container("init", resources={})], "containers": [container()]})],
    ),
    (
        "images-pinned-by-digest",
        "tag only",
        [workload(pod={"containers": [container(image="vllm/vllm-openai:v0.12.0")]})],
    ),
    (
        "images-pinned-by-digest",
        "CronJob init image by tag",
        [workload("CronJob", {"initContainers": [container("i", image="busybox:1.36")], "containers": [container()]})],
    ),
    ("images-pinned-by-digest", "CloudNativePG on the operator's default", [cnpg_cluster("encrypted-block", None)]),
    ("images-pinned-by-digest", "CloudNativePG by tag", [cnpg_cluster("encrypted-block", "postgres:17")]),
    (
        "gpu-memory-utilization",
        "0.7 in prod",
        [
            workload(
                pod={
                    "containers": [
                        container("vllm", command=["vllm", "serve"], args=["m", "--gpu-memory-utilization", "0.7"])
                    ]
                }
            )
        ],
    ),
    (
        "gpu-memory-utilization",
        "=0.5 form",
        [workload(pod={"containers": [container("vllm", args=["--gpu-memory-utilization=0.5"])]})],
    ),
    (
        "tls-on-every-ingress",
        "HTTPS without certificate",
        [gateway_with([{"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"mode": "Terminate"}}])],
    ),
    ("tls-on-every-ingress", "plain HTTP only", [gateway_with([{"name": "http", "protocol": "HTTP", "port": 80}])]),
    (
        "tls-on-every-ingress",
        "plain TCP listener",
        [
            gateway_with(
                [
                    *gateway(ATTACHMENT, "x", {}, {})["spec"]["listeners"],
                    {"name": "raw", "protocol": "TCP", "port": 5432},
                ]
            )
        ],
    ),
    (
        "tls-on-every-ingress",
        "Ingress without TLS",
        [
            k8s(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": "web", "namespace": "x"},
                    "spec": {"rules": [{"host": "a.example.com"}]},
                }
            )
        ],
    ),
    (
        "tls-on-every-ingress",
        "Ingress host outside its TLS hosts",
        [
            k8s(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": "web", "namespace": "x"},
                    "spec": {
                        "tls": [{"hosts": ["a.example.com"], "secretName": "a"}],
                        "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
                    },
                }
            )
        ],
    ),
    ("plain-http-only-redirects", "content route on the HTTP listener", content_on_http()),
    ("pod-security-labels", "no labels", [namespace("helpline-prod-app", {})]),
    (
        "pod-security-labels",
        "privileged app namespace",
        [
            namespace(
                "helpline-prod-app",
                {f"pod-security.kubernetes.io/{m}": "privileged" for m in ("enforce", "audit", "warn")},
            )
        ],
    ),
    (
        "encryption-at-rest",
        "RDS unencrypted",
        [cloud("aws:rds/instance:Instance", "postgres", storageEncrypted=False, engine="postgres")],
    ),
    ("encryption-at-rest", "RDS encryption unset", [cloud("aws:rds/instance:Instance", "postgres", engine="postgres")]),
    (
        "encryption-at-rest",
        "Aurora unencrypted",
        [cloud("aws:rds/cluster:Cluster", "aurora", engine="aurora-postgresql")],
    ),
    (
        "encryption-at-rest",
        "ElastiCache at rest off",
        [cloud("aws:elasticache/replicationGroup:ReplicationGroup", "redis", atRestEncryptionEnabled=False)],
    ),
    (
        "encryption-at-rest",
        "stand-alone ElastiCache",
        [cloud("aws:elasticache/cluster:Cluster", "redis", engine="redis")],
    ),
    ("encryption-at-rest", "EFS unencrypted", [cloud("aws:efs/fileSystem:FileSystem", "models", encrypted=False)]),
    (
        "encryption-at-rest",
        "EKS without secrets encryption",
        [cloud("aws:eks/cluster:Cluster", "cluster", version="1.34")],
    ),
    (
        "encryption-at-rest",
        "GKE secrets in clear",
        [cloud("gcp:container/cluster:Cluster", "cluster", databaseEncryption={"state": "DECRYPTED"})],
    ),
    ("encryption-at-rest", "unencrypted EBS class", [storage_class("fast", "false")]),
    (
        "claims-use-declared-storage-classes",
        "CNPG on an undeclared class",
        [storage_class("encrypted-block", "true"), cnpg_cluster("gp2")],
    ),
    (
        "claims-use-declared-storage-classes",
        "StatefulSet claim on the cluster's default",
        [
            Resource(
                "kubernetes:apps/v1:StatefulSet",
                "redis",
                {
                    "metadata": {"name": "redis", "namespace": "helpline-dev-data"},
                    "spec": {
                        "template": {"spec": {"containers": [container("redis")]}},
                        "volumeClaimTemplates": [
                            {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
                        ],
                    },
                },
            )
        ],
    ),
    (
        "no-public-database",
        "RDS public",
        [cloud("aws:rds/instance:Instance", "postgres", storageEncrypted=True, publiclyAccessible=True)],
    ),
    (
        "no-public-database",
        "Cloud SQL with a public IP by default",
        [cloud("gcp:sql/databaseInstance:DatabaseInstance", "postgres", settings={"tier": "db-custom-2-8192"})],
    ),
    (
        "no-public-database",
        "Cloud SQL open to the world",
        [
            cloud(
                "gcp:sql/databaseInstance:DatabaseInstance",
                "postgres",
                settings={"ipConfiguration": {"ipv4Enabled": False, "authorizedNetworks": [{"value": "0.0.0.0/0"}]}},
            )
        ],
    ),
    (
        "no-public-database",
        "security group rule 0.0.0.0/0 to 5432",
        [
            cloud(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "pg",
                cidrIpv4="0.0.0.0/0",
                ipProtocol="tcp",
                fromPort=5432,
                toPort=5432,
            )
        ],
    ),
    (
        "no-public-database",
        "security group all traffic from ::/0",
        [
            cloud(
                "aws:ec2/securityGroup:SecurityGroup",
                "redis",
                ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 65535, "ipv6CidrBlocks": ["::/0"]}],
            )
        ],
    ),
    ("no-public-database", "LoadBalancer in front of Redis", [service("LoadBalancer", 6379)]),
]


@pytest.mark.parametrize(("rule_name", "what", "resources"), PLANTED, ids=[f"{r}:{w}" for r, w, _ in PLANTED])
def test_planted_bad_resource_is_caught(rule_name: str, what: str, resources: list[Resource]) -> None:
    culprit = resources[-1]
    rule = RULES[rule_name]
    config = rule_config("prod", rule_name)
    violations = rule.evaluate(resources, config) if isinstance(rule, StackRule) else rule.evaluate(culprit, config)
    assert violations, f"{rule_name} missed: {what}"
    for violation in violations:
        assert violation.rule == rule_name
        assert violation.resource == culprit.label
        assert rule_name in str(violation)
        assert culprit.label in str(violation)


def test_every_rule_has_a_planted_case() -> None:
    assert {rule for rule, _, _ in PLANTED} == set(rule_names())


def test_clean_variants_of_planted_resources_pass() -> None:
    """The same shapes done right raise nothing: the rules are not just firing on everything."""
    good = [
        workload(),
        workload("CronJob", {"containers": [without(without(container(), "livenessProbe"), "readinessProbe")]}),
        workload(
            pod={
                "containers": [container("vllm", args=["--gpu-memory-utilization", "0.9", "--trust-remote-code=false"])]
            }
        ),
        storage_class("encrypted-block", "true", default=True),
        cnpg_cluster("encrypted-block"),
        cloud("aws:rds/instance:Instance", "postgres", storageEncrypted=True, publiclyAccessible=False),
        cloud("aws:elasticache/replicationGroup:ReplicationGroup", "redis", atRestEncryptionEnabled=True),
        cloud(
            "aws:eks/cluster:Cluster", "c", encryptionConfig={"resources": ["secrets"], "provider": {"keyArn": "arn:k"}}
        ),
        cloud(
            "gcp:container/cluster:Cluster", "c", databaseEncryption={"state": "ENCRYPTED", "keyName": "projects/p/k"}
        ),
        cloud(
            "gcp:sql/databaseInstance:DatabaseInstance",
            "pg",
            settings={"ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "n"}},
        ),
        cloud(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "pg",
            cidrIpv4="10.0.0.0/16",
            ipProtocol="tcp",
            fromPort=5432,
            toPort=5432,
        ),
        cloud(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "https",
            cidrIpv4="0.0.0.0/0",
            ipProtocol="tcp",
            fromPort=443,
            toPort=443,
        ),
        service("ClusterIP", 6379),
        *edge_resources(),
    ]
    assert not evaluate_all(good)


def test_dev_config_lets_a_lower_gpu_share_through_only_as_advice() -> None:
    """Same rules in dev, advisory: dev sees what prod would block (the thresholds do not change)."""
    dev, prod = pack_config("dev"), pack_config("prod")
    assert dev["all"] == "advisory"
    assert prod["all"] == "mandatory"
    assert {k: v for k, v in dev.items() if k != "all"} == {
        k: {**v, "enforcementLevel": "advisory"} for k, v in prod.items() if k != "all"
    }


def test_unknown_preview_values_never_fire() -> None:
    """During a preview a computed value is unknown: rules must not guess it is wrong."""
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    resources = [
        workload(pod={"containers": [container(image=unknown, resources=unknown)]}),
        cloud("aws:rds/instance:Instance", "postgres", storageEncrypted=unknown, publiclyAccessible=unknown),
        cloud("aws:eks/cluster:Cluster", "c", encryptionConfig=unknown),
        cloud("gcp:sql/databaseInstance:DatabaseInstance", "pg", settings=unknown),
        cloud(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "pg",
            cidrIpv4=unknown,
            fromPort=5432,
            toPort=5432,
        ),
        workload(pod={"containers": [container(resources={"limits": {"cpu": unknown, "memory": "1Gi"}})]}),
        cloud(
            "aws:eks/cluster:Cluster",
            "c2",
            encryptionConfig={"resources": ["secrets"], "provider": {"keyArn": unknown}},
        ),
        cloud("gcp:container/cluster:Cluster", "c3", databaseEncryption={"state": "ENCRYPTED", "keyName": unknown}),
        Resource(
            "kubernetes:storage.k8s.io/v1:StorageClass",
            "x",
            {"metadata": {"name": "x"}, "provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": unknown}},
        ),
        cnpg_cluster(unknown),
        gateway_with([{"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"certificateRefs": unknown}}]),
        namespace("helpline-prod-app", unknown),  # type: ignore[arg-type]
    ]
    assert not evaluate_all(resources)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pack_config_names_every_rule_with_valid_settings(stack: str) -> None:
    config = pack_config(stack)
    assert set(config) - {"all"} == set(rule_names())
    for name, entry in config.items():
        if name == "all":
            continue
        assert entry["enforcementLevel"] in ("advisory", "mandatory")
        schema = {"type": "object", "properties": dict(RULES[name].config_schema), "additionalProperties": False}
        jsonschema.validate({k: v for k, v in entry.items() if k != "enforcementLevel"}, schema)
