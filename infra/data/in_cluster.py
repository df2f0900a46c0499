"""The dev data tier inside the cluster: CloudNativePG + one Postgres instance, one Redis, their network policies.

Both keep their data on volumes of the cluster's encrypted block StorageClass (``ClusterInterface.
block_storage_class``), so a pod restart or a node replacement loses nothing; the stack's ``protect`` settings for
the volumes come from the cluster stage (retained in prod, where this tier is not used anyway).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.data import cnpg, redis
from infra.data.endpoints import NetworkLocation, PostgresServer, RedisServer
from infra.data.network import REDIS_POD, postgres_policies, redis_policy
from infra.data.versions import CNPG_CHART
from infra.k8s.labels import standard_labels
from infra.k8s.resources import declare
from infra.platform.helm import helm_release


@dataclass(frozen=True)
class InClusterStoresArgs:
    stack: str
    namespace: str
    app_namespace: str
    storage_class: str
    postgres_storage_gi: int
    redis_storage_gi: int
    api_server_cidrs: Sequence[str]
    admin_password: pulumi.Output[str]
    redis_password: pulumi.Output[str]
    #: bumps restart Redis so it reads a rotated password (it reads its configuration at start only)
    credentials_version: int


class InClusterStores(pulumi.ComponentResource):
    postgres: PostgresServer
    redis: RedisServer

    def __init__(
        self,
        name: str,
        args: InClusterStoresArgs,
        *,
        after: Sequence[pulumi.Resource] = (),
        monitoring: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: the data namespace and its baseline; ``monitoring``: what installs the PodMonitor CRD."""
        super().__init__("helpline:data:InClusterStores", name, None, opts)
        namespace = args.namespace
        inside = pulumi.ResourceOptions(parent=self, depends_on=list(after))
        postgres_labels = standard_labels(cnpg.CLUSTER_NAME, "database", args.stack)
        redis_labels = standard_labels(redis.REDIS, "cache", args.stack)

        for policy in [
            *postgres_policies(namespace, args.app_namespace, args.api_server_cidrs, postgres_labels),
            redis_policy(namespace, args.app_namespace, redis_labels),
        ]:
            declare(policy, inside)

        operator = helm_release(cnpg.OPERATOR_RELEASE, CNPG_CHART, namespace, cnpg.operator_values(namespace), inside)
        admin = declare(cnpg.admin_secret(namespace, postgres_labels, args.admin_password), inside)
        cluster = declare(
            cnpg.postgres_cluster(
                namespace=namespace,
                labels=postgres_labels,
                storage_class=args.storage_class,
                storage_gi=args.postgres_storage_gi,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[*after, operator, admin]),
        )
        declare(
            cnpg.pod_monitor(namespace, postgres_labels),
            pulumi.ResourceOptions(parent=self, depends_on=[*after, *monitoring, cluster]),
        )

        declare(redis.config_map(namespace, redis_labels), inside)
        auth_conf = args.redis_password.apply(redis.requirepass_line)
        declare(redis.auth_secret(namespace, redis_labels, args.redis_password, auth_conf), inside)
        config_hash = hashlib.sha256(f"{redis.redis_config()}|{args.credentials_version}".encode()).hexdigest()[:16]
        stateful_set = declare(
            redis.stateful_set(
                namespace=namespace,
                labels=redis_labels,
                storage_class=args.storage_class,
                storage_gi=args.redis_storage_gi,
                config_hash=config_hash,
            ),
            inside,
        )
        service = declare(redis.service(namespace, redis_labels), inside)

        self.postgres = PostgresServer(
            host=cnpg.read_write_host(namespace),
            port=cnpg.POSTGRES_PORT,
            database=cnpg.DATABASE,
            admin_user=cnpg.ADMIN_ROLE,
            admin_password=args.admin_password,
            # CloudNativePG's own CA signs the server certificate; the connection is encrypted, not verified
            # (the CA lives in the data namespace's Secret, which the app namespace does not read).
            ssl_mode="require",
            location=NetworkLocation(port=cnpg.POSTGRES_PORT, namespace=namespace, pod_labels=cnpg.cluster_pods()),
            ready=[cluster, admin],
        )
        self.redis = RedisServer(
            host=redis.redis_host(namespace),
            port=redis.REDIS_PORT,
            password=args.redis_password,
            tls=False,
            location=NetworkLocation(port=redis.REDIS_PORT, namespace=namespace, pod_labels=REDIS_POD),
            ready=[stateful_set, service],
        )
        self.register_outputs({"postgres": self.postgres.host, "redis": self.redis.host})
