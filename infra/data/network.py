"""Who may reach the data tier: the point-to-point allows of the data namespace, on top of the platform's baseline.

The platform wrote the data namespace's default deny, DNS, the Prometheus scrape of 9187/9121 and API access for
pods labelled ``helpline.io/kube-api``. This module adds exactly the data traffic:

- app pods carrying ``POSTGRES_CLIENT`` (the services with a database and their migration Jobs) -> Postgres 5432;
  app pods carrying ``REDIS_CLIENT`` (gateway, auth) -> Redis 6379. The services stage puts the labels on exactly
  those pods and writes their egress; nothing else in the app namespace can reach either store;
- the role-provisioning Job -> Postgres;
- CloudNativePG's own traffic: the operator polls each instance's status endpoint, instances replicate to each
  other, and the API server calls the operator's admission webhook.

With managed databases only the Job's egress is needed here: the stores are outside the cluster (their security
groups / private service access admit the cluster's nodes, see infra/aws/rds.py, infra/gcp/cloudsql.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra.data.cnpg import INSTANCE_STATUS_PORT, OPERATOR_POD, OPERATOR_WEBHOOK_PORT, POSTGRES_PORT, cluster_pods
from infra.data.endpoints import NetworkLocation
from infra.data.provisioning import NAME as PROVISIONING_JOB
from infra.data.redis import REDIS, REDIS_PORT
from infra.k8s.labels import NAME_LABEL
from infra.k8s.network_policies import allow_from, allow_to, ip_block, network_policy, peer

#: Pod labels that admit app pods to the stores (set by the services stage on exactly the pods that need them).
POSTGRES_CLIENT = {"helpline.io/postgres-client": "true"}
REDIS_CLIENT = {"helpline.io/redis-client": "true"}
PROVISIONING_POD = {NAME_LABEL: PROVISIONING_JOB}
REDIS_POD = {NAME_LABEL: REDIS}


def provisioning_policy(namespace: str, postgres: NetworkLocation, labels: Mapping[str, str]) -> dict[str, Any]:
    """The Job reaches Postgres and nothing else (DNS comes from the platform)."""
    return network_policy(
        PROVISIONING_JOB, namespace, pod_labels=PROVISIONING_POD, egress=[postgres.egress()], labels=labels
    )


def postgres_policies(
    namespace: str, app_namespace: str, api_server_cidrs: Sequence[str], labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """CloudNativePG instances and operator (in-cluster Postgres only)."""
    instances = peer(namespace, cluster_pods())
    operator = peer(namespace, OPERATOR_POD)
    clients = [peer(app_namespace, POSTGRES_CLIENT), peer(namespace, PROVISIONING_POD)]
    return [
        network_policy(
            "postgres",
            namespace,
            pod_labels=cluster_pods(),
            ingress=[
                allow_from([*clients, instances], [POSTGRES_PORT]),
                allow_from([operator, instances], [INSTANCE_STATUS_PORT]),
            ],
            # replication and switchover between instances (one instance in dev; the rule keeps more working)
            egress=[allow_to([instances], [POSTGRES_PORT, INSTANCE_STATUS_PORT])],
            labels=labels,
        ),
        network_policy(
            "cloudnative-pg-operator",
            namespace,
            pod_labels=OPERATOR_POD,
            ingress=[allow_from([ip_block(cidr) for cidr in api_server_cidrs], [OPERATOR_WEBHOOK_PORT])],
            egress=[allow_to([instances], [INSTANCE_STATUS_PORT])],
            labels=labels,
        ),
    ]


def redis_policy(namespace: str, app_namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """Only the app pods labelled as Redis clients (in-cluster Redis only)."""
    return network_policy(
        REDIS,
        namespace,
        pod_labels=REDIS_POD,
        ingress=[allow_from([peer(app_namespace, REDIS_CLIENT)], [REDIS_PORT])],
        labels=labels,
    )
