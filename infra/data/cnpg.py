"""In-cluster Postgres (dev): the CloudNativePG operator and one ``Cluster``, as plain data.

Why CloudNativePG rather than a Postgres chart: it is a CNCF project that runs PostgreSQL the way a managed service
does (an instance manager as PID 1, failover, TLS with its own CA, declarative roles, rolling minor upgrades, backups
when wanted), its pods satisfy Pod Security ``restricted`` out of the box, and a ``Cluster`` is a schema-checked
custom resource (``../shared/crd-schemas/postgresql.cnpg.io``) instead of a pile of templated StatefulSet values.
Bitnami's chart, the usual alternative, lost its free maintained images in 2025.

The operator is installed in the data namespace and watches only it. The database ``helpline`` is owned by the
role ``helpline_admin``, which CloudNativePG manages with CREATEROLE and the password from our Secret: the same
kind of administrator RDS and Cloud SQL give (never a superuser), so one role-provisioning Job serves every tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.cluster import POOL_LABEL, SYSTEM_POOL
from infra.data.versions import CNPG_OPERATOR_IMAGE, POSTGRES_IMAGE
from infra.k8s.objects import BASIC_AUTH, secret
from infra.platform.network_baseline import KUBE_API_ACCESS

CNPG_API = "postgresql.cnpg.io/v1"
CLUSTER_NAME = "postgres"
DATABASE = "helpline"
ADMIN_ROLE = "helpline_admin"
ADMIN_SECRET = "postgres-admin"  # noqa: S105  (a name, not a value)
OPERATOR_RELEASE = "cloudnative-pg"
POSTGRES_PORT = 5432
#: The instance manager's status endpoint (the operator polls it; replicas use it during switchover).
INSTANCE_STATUS_PORT = 8000
METRICS_PORT = 9187
OPERATOR_WEBHOOK_PORT = 9443
#: Labels CloudNativePG puts on every pod of a cluster (instances and its bootstrap Jobs).
CLUSTER_POD_LABEL = "cnpg.io/cluster"
#: The chart's selector label on the operator pod.
OPERATOR_POD = {"app.kubernetes.io/name": "cloudnative-pg"}
SYSTEM_NODES = {POOL_LABEL: SYSTEM_POOL}


def cluster_pods() -> dict[str, str]:
    return {CLUSTER_POD_LABEL: CLUSTER_NAME}


def read_write_host(namespace: str) -> str:
    """The Service CloudNativePG keeps pointed at the primary."""
    return f"{CLUSTER_NAME}-rw.{namespace}.svc.cluster.local"


def operator_values(namespace: str) -> dict[str, Any]:
    """The operator watches only the data namespace; its pod may reach the Kubernetes API (platform label)."""
    return {
        "fullnameOverride": OPERATOR_RELEASE,
        "replicaCount": 1,
        "image": {"repository": CNPG_OPERATOR_IMAGE.repository, "tag": CNPG_OPERATOR_IMAGE.tag_and_digest},
        "crds": {"create": True},
        "config": {"clusterWide": False},
        "podLabels": dict(KUBE_API_ACCESS),
        "nodeSelector": dict(SYSTEM_NODES),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "monitoring": {"podMonitorEnabled": False, "grafanaDashboard": {"create": False}},
    }


def admin_secret(namespace: str, labels: Mapping[str, str], password: Any) -> dict[str, Any]:
    """The administrator's credentials: CloudNativePG reads a basic-auth Secret; the provisioning Job its password."""
    return secret(
        ADMIN_SECRET,
        namespace,
        labels,
        {"username": ADMIN_ROLE, "password": password},
        secret_type=BASIC_AUTH,
    )


def postgres_cluster(
    *,
    namespace: str,
    labels: Mapping[str, str],
    storage_class: str,
    storage_gi: int,
) -> dict[str, Any]:
    """One instance on a block volume (dev); TLS required for every client connection."""
    return {
        "apiVersion": CNPG_API,
        "kind": "Cluster",
        "metadata": {"name": CLUSTER_NAME, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "description": "Helpline in-cluster Postgres (dev): auth, sessions and chat schemas",
            "instances": 1,
            "imageName": POSTGRES_IMAGE.reference,
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": False,
            "storage": {"storageClass": storage_class, "size": f"{storage_gi}Gi", "resizeInUseVolumes": True},
            "bootstrap": {"initdb": {"database": DATABASE, "owner": ADMIN_ROLE, "secret": {"name": ADMIN_SECRET}}},
            "managed": {
                "roles": [
                    {
                        "name": ADMIN_ROLE,
                        "ensure": "present",
                        "comment": "Helpline administrator: creates the services' roles (not a superuser)",
                        "login": True,
                        "createrole": True,
                        "passwordSecret": {"name": ADMIN_SECRET},
                    }
                ]
            },
            "postgresql": {
                "parameters": {
                    "password_encryption": "scram-sha-256",
                    "log_min_duration_statement": "1000",
                    "log_lock_waits": "on",
                    "max_connections": "200",
                },
                # Every client connection over TLS (CloudNativePG's own CA); plain TCP is refused.
                "pg_hba": ["hostnossl all all 0.0.0.0/0 reject", "hostnossl all all ::/0 reject"],
            },
            # Instances and the bootstrap Job talk to the Kubernetes API (status, leader election): the
            # platform's opt-in label admits them, and the standard labels say whose they are.
            "inheritedMetadata": {"labels": {**dict(labels), **KUBE_API_ACCESS}},
            "affinity": {"nodeSelector": dict(SYSTEM_NODES)},
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            },
            "monitoring": {"enablePodMonitor": False},
        },
    }


def pod_monitor(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """Prometheus scrapes each instance's exporter (``metrics``, 9187; the platform admits the scrape)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": CLUSTER_NAME, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": {**cluster_pods(), "cnpg.io/podRole": "instance"}},
            "podMetricsEndpoints": [{"port": "metrics", "interval": "30s"}],
        },
    }
