"""ElastiCache for Redis: the gateway's rate limits, quotas, stream leases and key cache on AWS.

- A replication group: in prod a primary and a replica pinned to two different zones, Multi-AZ with automatic
  failover, so a zone outage promotes the replica; dev (when managed) one node.
- TLS required in transit (``rediss://``; Amazon's certificate is publicly trusted, nothing to ship), an AUTH
  token from ``pulumi_random`` (rotated with the ``ROTATE`` strategy so old and new tokens overlap while the
  services roll), encrypted at rest with the stack's KMS key.
- In the cluster's private subnets; the security group admits only the EKS cluster security group on 6379.
- A daily snapshot kept a day: every key expires on its own (limits, leases, cached verifications), so a snapshot
  only shortens the cold start after a total loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.store_network import cluster_only_security_group
from infra.cluster import AwsNetwork
from infra.data.endpoints import NetworkLocation, RedisServer
from infra.data.redis_policy import MAXMEMORY_POLICY
from infra.data.versions import ELASTICACHE_ENGINE_VERSION, ELASTICACHE_PARAMETER_FAMILY
from infra.data.zones import replica_zones

REDIS_PORT = 6379
SNAPSHOT_WINDOW = "02:00-03:00"
MAINTENANCE_WINDOW = "sun:05:30-sun:06:30"
SNAPSHOT_RETENTION_DAYS = 1


@dataclass(frozen=True)
class ElastiCacheRedisArgs:
    name_prefix: str
    node_type: str
    #: a replica in a second zone with automatic failover (prod)
    highly_available: bool
    zones: Sequence[str]
    auth_token: pulumi.Output[str]
    #: the cluster's VPC, private subnets and KMS key; its cluster security group is the only source admitted
    network: AwsNetwork

    def __post_init__(self) -> None:
        replica_zones(self.zones, highly_available=self.highly_available)  # refuses bad zones when built, not later

    @property
    def cache_cluster_zones(self) -> list[str]:
        """Primary in the first zone, replica in the second: never both in one."""
        return replica_zones(self.zones, highly_available=self.highly_available)


class ElastiCacheRedis(pulumi.ComponentResource):
    server: RedisServer

    def __init__(self, name: str, args: ElastiCacheRedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:ElastiCacheRedis", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network = args.network
        identifier = f"{args.name_prefix}-redis"
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            aws.elasticache.SubnetGroupArgs(
                name=identifier,
                description="Private subnets of the Helpline cluster",
                subnet_ids=list(network.private_subnet_ids),
            ),
            opts=child,
        )
        security_group = cluster_only_security_group(
            name, identifier=identifier, store="Redis", port=REDIS_PORT, network=network, opts=child
        )
        parameters = aws.elasticache.ParameterGroup(
            f"{name}-parameters",
            aws.elasticache.ParameterGroupArgs(
                name=identifier,
                family=ELASTICACHE_PARAMETER_FAMILY,
                description="Helpline: evict expiring keys when full",
                parameters=[
                    aws.elasticache.ParameterGroupParameterArgs(name="maxmemory-policy", value=MAXMEMORY_POLICY)
                ],
            ),
            opts=child,
        )
        zones = args.cache_cluster_zones
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            aws.elasticache.ReplicationGroupArgs(
                replication_group_id=identifier,
                description="Helpline gateway: rate limits, quotas, stream leases, key cache",
                engine="redis",
                engine_version=ELASTICACHE_ENGINE_VERSION,
                node_type=args.node_type,
                port=REDIS_PORT,
                num_cache_clusters=len(zones),
                preferred_cache_cluster_azs=zones,
                automatic_failover_enabled=args.highly_available,
                multi_az_enabled=args.highly_available,
                subnet_group_name=subnets.name,
                security_group_ids=[security_group.id],
                parameter_group_name=parameters.name,
                at_rest_encryption_enabled=True,
                kms_key_id=network.kms_key_arn,
                transit_encryption_enabled=True,
                transit_encryption_mode="required",
                auth_token=args.auth_token,
                auth_token_update_strategy="ROTATE",  # noqa: S106  (a strategy name)
                snapshot_retention_limit=SNAPSHOT_RETENTION_DAYS,
                snapshot_window=SNAPSHOT_WINDOW,
                maintenance_window=MAINTENANCE_WINDOW,
                auto_minor_version_upgrade=True,
                apply_immediately=False,
                tags={"Name": identifier},
            ),
            opts=child,
        )
        self.server = RedisServer(
            host=group.primary_endpoint_address,
            port=REDIS_PORT,
            password=args.auth_token,
            tls=True,
            location=NetworkLocation(port=REDIS_PORT, cidrs=[network.vpc_cidr]),
            ready=[group],
        )
        self.register_outputs({"primaryEndpoint": group.primary_endpoint_address})
