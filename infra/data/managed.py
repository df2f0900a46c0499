"""The prod data tier on the cloud's managed services: RDS + ElastiCache on AWS, Cloud SQL + Memorystore on GCP.

The cluster stage hands over the network and the key (``ClusterInterface.network``) but not its cloud provider, so
the data tier declares its own explicit provider for the same region (and project), tagged like the cluster's
resources; nothing depends on ambient cloud configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from infra.aws.elasticache import ElastiCacheRedis, ElastiCacheRedisArgs
from infra.aws.rds import RdsPostgres, RdsPostgresArgs
from infra.cluster import AwsNetwork, GcpNetwork
from infra.data.endpoints import PostgresServer, RedisServer
from infra.data.postgres_settings import ManagedPostgresSettings
from infra.gcp.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
from infra.gcp.memorystore import MemorystoreRedis, MemorystoreRedisArgs


@dataclass(frozen=True)
class ManagedStoresArgs:
    """Sizing and protection of the managed stores, cloud-neutral where it can be."""

    stack: str
    name_prefix: str
    region: str
    zones: Sequence[str]
    highly_available: bool
    protect: bool
    database: str
    admin_user: str
    postgres_storage_gi: int
    postgres_max_storage_gi: int
    backup_retention_days: int
    aws_postgres_instance_class: str
    aws_redis_node_type: str
    gcp_project_number: str
    gcp_postgres_tier: str
    gcp_redis_memory_gi: int
    #: the private service access range (GCP): where Cloud SQL and Memorystore get their addresses
    gcp_private_services_cidr: str

    @property
    def aws_tags(self) -> dict[str, str]:
        """The cluster stage's tag set, so cost reports group the data tier with its stack."""
        return {"helpline-stack": self.stack, "helpline-project": "helpline", "managed-by": "pulumi"}

    def gcp_labels(self, environment: str) -> dict[str, str]:
        return {"app": "helpline", "stack": self.stack, "environment": environment, "managed-by": "pulumi"}

    def postgres(self, admin_password: pulumi.Output[str]) -> ManagedPostgresSettings:
        """The Postgres both clouds are asked for."""
        return ManagedPostgresSettings(
            name_prefix=self.name_prefix,
            storage_gi=self.postgres_storage_gi,
            max_storage_gi=self.postgres_max_storage_gi,
            backup_retention_days=self.backup_retention_days,
            highly_available=self.highly_available,
            protect=self.protect,
            database=self.database,
            admin_user=self.admin_user,
            admin_password=admin_password,
        )


def aws_stores(
    name: str,
    args: ManagedStoresArgs,
    network: AwsNetwork,
    *,
    admin_password: pulumi.Output[str],
    redis_token: pulumi.Output[str],
    opts: pulumi.ResourceOptions,
) -> tuple[PostgresServer, RedisServer]:
    provider = aws.Provider(
        f"{name}-aws",
        aws.ProviderArgs(region=args.region, default_tags=aws.ProviderDefaultTagsArgs(tags=args.aws_tags)),
        opts=opts,
    )
    on_aws = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[provider]))
    postgres = RdsPostgres(
        f"{name}-postgres",
        RdsPostgresArgs(
            postgres=args.postgres(admin_password), instance_class=args.aws_postgres_instance_class, network=network
        ),
        opts=on_aws,
    )
    redis = ElastiCacheRedis(
        f"{name}-redis",
        ElastiCacheRedisArgs(
            name_prefix=args.name_prefix,
            node_type=args.aws_redis_node_type,
            highly_available=args.highly_available,
            zones=args.zones,
            auth_token=redis_token,
            network=network,
        ),
        opts=on_aws,
    )
    return postgres.server, redis.server


def gcp_stores(
    name: str,
    args: ManagedStoresArgs,
    network: GcpNetwork,
    *,
    environment: str,
    admin_password: pulumi.Output[str],
    opts: pulumi.ResourceOptions,
) -> tuple[PostgresServer, RedisServer]:
    labels: Mapping[str, str] = args.gcp_labels(environment)
    provider = gcp.Provider(
        f"{name}-gcp", project=network.project, region=network.region, default_labels=dict(labels), opts=opts
    )
    on_gcp = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers={"gcp": provider}))
    postgres = CloudSqlPostgres(
        f"{name}-postgres",
        CloudSqlPostgresArgs(
            postgres=args.postgres(admin_password),
            project_number=args.gcp_project_number,
            tier=args.gcp_postgres_tier,
            network=network,
            private_services_cidr=args.gcp_private_services_cidr,
            labels=dict(labels),
        ),
        opts=on_gcp,
    )
    redis = MemorystoreRedis(
        f"{name}-redis",
        MemorystoreRedisArgs(
            name_prefix=args.name_prefix,
            project_number=args.gcp_project_number,
            zones=args.zones,
            memory_gi=args.gcp_redis_memory_gi,
            highly_available=args.highly_available,
            network=network,
            private_services_cidr=args.gcp_private_services_cidr,
            labels=dict(labels),
        ),
        opts=on_gcp,
    )
    return postgres.server, redis.server
