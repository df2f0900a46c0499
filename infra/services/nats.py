"""NATS with JetStream in the app namespace: the lifecycle events' stream (sessions publishes, its webhook
dispatcher consumes), as typed manifests we own.

Why not a chart: the official ``nats`` Helm chart is not among the archives this repository templates and tests
(``../shared/charts``), and what we need is small: one server in dev, a three-server JetStream cluster in prod (a
stream replicated three ways survives a node), a file store on a block volume, a token, and nothing else.
Managed alternatives (Synadia Cloud) would be another vendor account and the events leaving the VPC.

Security: the restricted Pod Security profile (non-root, read-only root, no capabilities), no service account
token, and a NetworkPolicy that admits clients only from pods labelled ``NATS_CLIENT`` (sessions) and route
traffic only between the servers. Clients authenticate with a generated token: the server includes ``auth.conf`` from a
Secret projected beside ``nats.conf``, and sessions reads its own Secret (``nats-client``, key ``url``) as a file,
so the token is never in a ConfigMap, an environment variable or a command line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from infra.cluster import POOL_LABEL, SYSTEM_POOL
from infra.data.endpoints import SecretKeyRef
from infra.k8s import objects
from infra.k8s.labels import NAME_LABEL, selector_labels
from infra.k8s.network_policies import allow_from, network_policy, peer
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.platform.charts import Image

NATS = "nats"
HEADLESS = "nats-cluster"
CLIENT_PORT = 4222
CLUSTER_PORT = 6222
MONITOR_PORT = 8222
DATA_DIR = "/data"
CONFIG_DIR = "/etc/nats"
#: Read from several independent public records of the tag (as the data tier's images; see infra/data/versions.py).
NATS_IMAGE = Image(
    "docker.io/library/nats",
    "2.12.12-alpine",
    "sha256:2ca98656a279b2d88cfdf2b8c3f0d5d7f3941ae9dc2ab12ebaa92d83e0f4ccdb",
)
#: Server-side Secret (the token) and the client's (the full URL with it): the server never needs the URL.
SERVER_SECRET = SecretKeyRef("nats-server", "auth.conf")
AUTH_FILE = "auth.conf"
CLIENT_SECRET = SecretKeyRef("nats-client", "url")
#: The label that admits a pod to NATS's client port (sessions carries it).
NATS_CLIENT = {"helpline.io/nats-client": "true"}
NATS_POD = {NAME_LABEL: NATS}
#: JetStream's file store: the stream keeps 7 days of events (sessions' events_max_age_days); far below this.
STORE_GI = 10
MAX_FILE_STORE = "8G"
MAX_MEMORY_STORE = "256M"


def nats_host(namespace: str) -> str:
    return f"{NATS}.{namespace}.svc.cluster.local"


def client_url(namespace: str, token: str) -> str:
    """What sessions connects with (``HELPLINE_EVENTS_NATS_URL``): the token as the URL's user."""
    if not token:
        raise ValueError("the NATS token must not be empty")
    return f"nats://{quote(token, safe='')}@{nats_host(namespace)}:{CLIENT_PORT}"


def server_config(namespace: str, replicas: int) -> str:
    """``nats.conf``: JetStream on the volume, the token from the environment, a cluster of ``replicas`` > 1."""
    lines = [
        f"port: {CLIENT_PORT}",
        f"http_port: {MONITOR_PORT}",
        "server_name: $POD_NAME",
        # the token, from the Secret projected beside this file (never in the ConfigMap, env or argv)
        f"include {AUTH_FILE}",
        "jetstream {",
        f'  store_dir: "{DATA_DIR}"',
        f"  max_file_store: {MAX_FILE_STORE}",
        f"  max_memory_store: {MAX_MEMORY_STORE}",
        "}",
        "max_payload: 1MB",
        'pid_file: "/tmp/nats.pid"',
        "lame_duck_duration: 30s",
        "lame_duck_grace_period: 10s",
    ]
    if replicas > 1:
        routes = [
            f"    nats://{NATS}-{index}.{HEADLESS}.{namespace}.svc.cluster.local:{CLUSTER_PORT}"
            for index in range(replicas)
        ]
        lines += [
            "cluster {",
            f"  name: {NATS}",
            f"  port: {CLUSTER_PORT}",
            "  routes: [",
            *routes,
            "  ]",
            "}",
        ]
    return "\n".join([*lines, ""])


def auth_config(token: str) -> str:
    """The server's ``authorization`` block (JSON string quoting is valid NATS config quoting)."""
    if not token:
        raise ValueError("the NATS token must not be empty")
    return f"authorization {{\n  token: {json.dumps(token)}\n}}\n"


def config_map(namespace: str, labels: Mapping[str, str], replicas: int) -> dict[str, Any]:
    return objects.config_map(f"{NATS}-config", namespace, labels, {"nats.conf": server_config(namespace, replicas)})


def _http_probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "monitor"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def stateful_set(
    *,
    namespace: str,
    labels: Mapping[str, str],
    replicas: int,
    storage_class: str,
    config_hash: str,
    spread_across_zones: bool,
) -> dict[str, Any]:
    selector = selector_labels(NATS)
    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": restricted_pod_security_context(),
        "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
        # lame duck mode (30 s) hands clients to the other servers before this one exits
        "terminationGracePeriodSeconds": 60,
        "containers": [
            {
                "name": NATS,
                "image": NATS_IMAGE.reference,
                "imagePullPolicy": "IfNotPresent",
                "args": ["--config", f"{CONFIG_DIR}/nats.conf"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "ports": [
                    {"name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP"},
                    {"name": "cluster", "containerPort": CLUSTER_PORT, "protocol": "TCP"},
                    {"name": "monitor", "containerPort": MONITOR_PORT, "protocol": "TCP"},
                ],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"},
                },
                "securityContext": restricted_container_security_context(),
                # /healthz?js-enabled-only=true: up with JetStream on, without waiting for the whole cluster
                "startupProbe": _http_probe("/healthz?js-enabled-only=true", 2, 60),
                "readinessProbe": _http_probe("/healthz?js-server-only=true", 5, 3),
                "livenessProbe": _http_probe("/healthz?js-enabled-only=true", 10, 3),
                "lifecycle": {"preStop": {"exec": {"command": ["nats-server", "-sl=ldm=/tmp/nats.pid"]}}},
                "volumeMounts": [
                    {"name": "data", "mountPath": DATA_DIR},
                    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108  (the pid file lame duck mode signals through)
                ],
            }
        ],
        "volumes": [
            {
                "name": "config",
                "projected": {
                    "defaultMode": 0o440,
                    "sources": [
                        {"configMap": {"name": f"{NATS}-config"}},
                        {
                            "secret": {
                                "name": SERVER_SECRET.name,
                                "items": [{"key": SERVER_SECRET.key, "path": AUTH_FILE}],
                            }
                        },
                    ],
                },
            },
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ],
    }
    if spread_across_zones:
        pod_spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": selector},
            }
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": NATS, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "serviceName": HEADLESS,
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            # the servers find each other by their stable names: start them together
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {"labels": dict(labels), "annotations": {"helpline.io/config-hash": config_hash}},
                "spec": pod_spec,
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": dict(labels)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": storage_class,
                        "resources": {"requests": {"storage": f"{STORE_GI}Gi"}},
                    },
                }
            ],
        },
    }


def services(namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The clients' Service (4222) and the headless one the servers' stable names and routes come from."""
    selector = selector_labels(NATS)
    client = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NATS, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "client", "port": CLIENT_PORT, "targetPort": "client", "protocol": "TCP"}],
        },
    }
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": HEADLESS, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,  # routes form before the servers are ready
            "selector": selector,
            "ports": [{"name": "cluster", "port": CLUSTER_PORT, "targetPort": "cluster", "protocol": "TCP"}],
        },
    }
    return [client, headless]


def policy(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """Clients only from pods labelled ``NATS_CLIENT``; routes only between the servers; no egress but routes."""
    servers = peer(namespace, NATS_POD)
    return network_policy(
        NATS,
        namespace,
        pod_labels=NATS_POD,
        ingress=[
            allow_from([peer(namespace, NATS_CLIENT)], [CLIENT_PORT]),
            allow_from([servers], [CLUSTER_PORT]),
        ],
        egress=[{"to": [servers], "ports": [{"protocol": "TCP", "port": CLUSTER_PORT}]}],
        labels=labels,
    )
