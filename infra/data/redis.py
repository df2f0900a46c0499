"""In-cluster Redis (dev): one StatefulSet we own, from the official image, as plain data.

Why not a chart: Bitnami's Redis chart was the maintained one, and its images left the free catalogue in 2025
(``bitnamilegacy`` gets no updates); the operators (OT-Container-Kit, Spotahome) are another controller to run for
what the gateway uses as a cache and rate-limit store. The gateway's keys all expire (limits, leases, cached key
verifications), so dev needs one replica with an append-only file on a volume, a password, and nothing more; prod
uses the clouds' managed Redis, which adds the replica in another zone and TLS.

The password is never on the command line or in the pod spec: ``redis.conf`` (a ConfigMap) includes
``/etc/redis/auth/auth.conf`` from a Secret, and the probe reads the same Secret's ``password`` file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.cluster import POOL_LABEL, SYSTEM_POOL
from infra.data.redis_policy import MAXMEMORY_POLICY
from infra.data.versions import REDIS_IMAGE
from infra.k8s import objects
from infra.k8s.labels import selector_labels
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context

REDIS = "redis"
REDIS_PORT = 6379
AUTH_SECRET = "redis-auth"  # noqa: S105  (a name, not a value)
CONFIG_DIR = "/etc/redis"
AUTH_DIR = "/etc/redis/auth"
DATA_DIR = "/data"
#: Leaves headroom under the container's memory limit for the AOF rewrite's copy-on-write.
MAXMEMORY = "384mb"
MEMORY_LIMIT = "768Mi"


def redis_host(namespace: str) -> str:
    return f"{REDIS}.{namespace}.svc.cluster.local"


def redis_config() -> str:
    """Durable enough for dev (fsync every second), refuses writes rather than evicting limiter state when full."""
    return "\n".join(
        [
            f"port {REDIS_PORT}",
            "bind * -::*",
            "protected-mode yes",
            f"dir {DATA_DIR}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            f"maxmemory {MAXMEMORY}",
            f"maxmemory-policy {MAXMEMORY_POLICY}",
            # Administrative commands nobody should run against the limiter store from a client.
            'rename-command FLUSHALL ""',
            'rename-command FLUSHDB ""',
            'rename-command CONFIG ""',
            'rename-command DEBUG ""',
            f"include {AUTH_DIR}/auth.conf",
            "",
        ]
    )


def config_map(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return objects.config_map(f"{REDIS}-config", namespace, labels, {"redis.conf": redis_config()})


def auth_secret(namespace: str, labels: Mapping[str, str], password: Any, auth_conf: Any) -> dict[str, Any]:
    """``auth.conf`` for the server (``requirepass``) and the bare ``password`` for the probe."""
    return objects.secret(AUTH_SECRET, namespace, labels, {"auth.conf": auth_conf, "password": password})


def requirepass_line(password: str) -> str:
    """The server's password line; refuses what redis.conf would split or unquote (spaces, quotes, ``#``)."""
    if not password or any(char.isspace() or char in "\"'#\\" for char in password):
        raise ValueError("the Redis password must not contain whitespace, quotes, '#' or backslashes")
    return f"requirepass {password}\n"


def _probe(command: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "exec": {"command": ["sh", "-c", command]},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


#: Answers PONG only when the server is up and the password is right (``REDISCLI_AUTH`` keeps it off argv).
PING = f'REDISCLI_AUTH="$(cat {AUTH_DIR}/password)" redis-cli -p {REDIS_PORT} ping | grep -q PONG'


def stateful_set(
    *, namespace: str, labels: Mapping[str, str], storage_class: str, storage_gi: int, config_hash: str
) -> dict[str, Any]:
    """One replica, its append-only file on a block volume, restricted security, probes that authenticate."""
    selector = selector_labels(REDIS)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": REDIS, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "serviceName": REDIS,
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {
                    "labels": dict(labels),
                    # a changed configuration restarts the server (the file is read at start only)
                    "annotations": {"helpline.io/config-hash": config_hash},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    # Any non-root UID works: Redis needs no passwd entry, and fsGroup makes the volume writable.
                    "securityContext": restricted_pod_security_context(),
                    "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": REDIS,
                            "image": REDIS_IMAGE.reference,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["redis-server", f"{CONFIG_DIR}/redis.conf"],
                            "ports": [{"name": REDIS, "containerPort": REDIS_PORT, "protocol": "TCP"}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "512Mi"},
                                "limits": {"cpu": "500m", "memory": MEMORY_LIMIT},
                            },
                            "securityContext": restricted_container_security_context(),
                            "startupProbe": _probe(PING, 2, 30),
                            "readinessProbe": _probe(PING, 5, 2),
                            "livenessProbe": {
                                "tcpSocket": {"port": REDIS},
                                "periodSeconds": 10,
                                "timeoutSeconds": 3,
                                "failureThreshold": 3,
                            },
                            "volumeMounts": [
                                {"name": "data", "mountPath": DATA_DIR},
                                {
                                    "name": "config",
                                    "mountPath": f"{CONFIG_DIR}/redis.conf",
                                    "subPath": "redis.conf",
                                    "readOnly": True,
                                },
                                {"name": "auth", "mountPath": AUTH_DIR, "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": f"{REDIS}-config"}},
                        {"name": "auth", "secret": {"secretName": AUTH_SECRET, "defaultMode": 0o440}},
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": dict(labels)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": storage_class,
                        "resources": {"requests": {"storage": f"{storage_gi}Gi"}},
                    },
                }
            ],
        },
    }


def service(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": REDIS, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(REDIS),
            "ports": [{"name": REDIS, "port": REDIS_PORT, "targetPort": REDIS, "protocol": "TCP"}],
        },
    }
