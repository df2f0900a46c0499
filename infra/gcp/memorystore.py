"""Memorystore for Redis: the gateway's rate limits, quotas, stream leases and key cache on GCP.

- ``STANDARD_HA`` in prod: a primary in one zone and its replica in ``alternative_location_id``, another zone,
  with automatic failover; ``BASIC`` (one node) when a dev-like stack opts into managed data.
- Reached through the VPC's private service access (``GcpNetwork.network_id``, which waits for the peering).
- AUTH enabled (Memorystore generates the string; it arrives as a Pulumi secret) and TLS in transit
  (``SERVER_AUTHENTICATION``: port 6378, a per-instance CA the clients trust from a ConfigMap).
- Encrypted at rest with the stack's data key (CMEK), RDB snapshots every 12 hours in prod.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.cluster import GcpNetwork
from infra.data.endpoints import NetworkLocation, RedisServer, pem_bundle
from infra.data.redis_policy import MAXMEMORY_POLICY
from infra.data.versions import MEMORYSTORE_REDIS_VERSION
from infra.data.zones import replica_zones
from infra.gcp.kms import enable_service_with_key_access
from infra.gcp.principals import memorystore_service_agent

#: Memorystore serves TLS on 6378 (6379 stays plain and is closed when transit encryption is on).
TLS_PORT = 6378


@dataclass(frozen=True)
class MemorystoreRedisArgs:
    name_prefix: str
    project_number: str
    zones: Sequence[str]
    memory_gi: int
    highly_available: bool
    #: the cluster's VPC (peered for private service access), project, region and data key
    network: GcpNetwork
    private_services_cidr: str
    labels: dict[str, str]

    def __post_init__(self) -> None:
        replica_zones(self.zones, highly_available=self.highly_available)  # refuses bad zones when built, not later


class MemorystoreRedis(pulumi.ComponentResource):
    server: RedisServer

    def __init__(self, name: str, args: MemorystoreRedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:gcp:MemorystoreRedis", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network = args.network
        prerequisites = enable_service_with_key_access(
            name,
            api="redis.googleapis.com",
            agent=memorystore_service_agent(args.project_number),
            project=network.project,
            kms_key_id=network.kms_key_id,
            opts=child,
        )
        primary, *replica = replica_zones(args.zones, highly_available=args.highly_available)
        persistence = (
            gcp.redis.InstancePersistenceConfigArgs(persistence_mode="RDB", rdb_snapshot_period="TWELVE_HOURS")
            if args.highly_available
            else gcp.redis.InstancePersistenceConfigArgs(persistence_mode="DISABLED")
        )
        instance = gcp.redis.Instance(
            f"{name}-instance",
            name=f"{args.name_prefix}-redis",
            display_name="Helpline gateway: rate limits, quotas, stream leases, key cache",
            project=network.project,
            region=network.region,
            tier="STANDARD_HA" if args.highly_available else "BASIC",
            memory_size_gb=args.memory_gi,
            location_id=primary,
            alternative_location_id=replica[0] if replica else None,
            redis_version=MEMORYSTORE_REDIS_VERSION,
            authorized_network=network.network_id,
            connect_mode="PRIVATE_SERVICE_ACCESS",
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            customer_managed_key=network.kms_key_id,
            persistence_config=persistence,
            redis_configs={"maxmemory-policy": MAXMEMORY_POLICY},
            maintenance_policy=gcp.redis.InstanceMaintenancePolicyArgs(
                weekly_maintenance_windows=[
                    gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowArgs(
                        day="SUNDAY",
                        start_time=gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowStartTimeArgs(
                            hours=5, minutes=0
                        ),
                    )
                ]
            ),
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=prerequisites, additional_secret_outputs=["auth_string"]
            ),
        )
        self.server = RedisServer(
            host=instance.host,
            port=TLS_PORT,
            password=pulumi.Output.secret(instance.auth_string),
            tls=True,
            location=NetworkLocation(port=TLS_PORT, cidrs=[args.private_services_cidr]),
            ca_certificate=instance.server_ca_certs.apply(pem_bundle),
            ready=[instance],
        )
        self.register_outputs({"host": instance.host})
