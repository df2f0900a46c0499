"""The data tier: in-cluster Postgres/Redis in dev, managed services in prod (infra/data, infra/aws, infra/gcp).

``dataTier: auto`` follows the environment profile: dev runs CloudNativePG and Redis in the cluster on persistent
volumes (cheap, disposable), prod runs RDS + ElastiCache on AWS or Cloud SQL + Memorystore on GCP (HA, encrypted,
backed up, deletion-protected). A dev-like stack may opt into the managed services; prod may not opt out.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from stacks.config.base import ConfigIssue, ConfigSection, key
from stacks.config.cluster import ClusterConfig

DataTierMode = Literal["in-cluster", "managed"]
#: RDS keeps automated backups (and the point-in-time window) at most this long.
MAX_BACKUP_DAYS = 35
PROD_MIN_BACKUP_DAYS = 7
AWS_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
AWS_CACHE_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
#: Cloud SQL Enterprise tiers: shared-core, custom (vCPUs, MiB) or predefined machine types.
GCP_SQL_TIER = re.compile(r"^db-(f1-micro|g1-small|custom-\d+-\d+|(n2|n4|c4a)-(standard|highmem)-\d+)$")


class DataConfig(ConfigSection):
    """Where Postgres and Redis run and how they are sized, backed up and rotated."""

    data_tier: Literal["auto", "in-cluster", "managed"] = key(
        "dataTier",
        "Where Postgres and Redis run: in-cluster (CloudNativePG + Redis on persistent volumes), managed (RDS + "
        "ElastiCache, or Cloud SQL + Memorystore) or auto (in-cluster in dev, managed in prod). Prod refuses "
        "in-cluster.",
        "auto",
    )
    postgres_storage_gi: int = key(
        "postgresStorageGi",
        "Postgres volume (in-cluster) or initial allocated storage (managed), GiB.",
        20,
        ge=10,
        le=16384,
    )
    postgres_max_storage_gi: int = key(
        "postgresMaxStorageGi",
        "Managed Postgres grows its storage automatically up to this size, GiB (RDS storage autoscaling, Cloud SQL "
        "disk autoresize limit).",
        200,
        ge=20,
        le=65536,
    )
    redis_storage_gi: int = key("redisStorageGi", "In-cluster Redis volume (append-only file), GiB.", 2, ge=1, le=1024)
    backup_retention_days: int = key(
        "backupRetentionDays",
        "Days of automated Postgres backups, and of the point-in-time recovery window (Cloud SQL keeps transaction "
        "logs at most 7 days). Prod needs at least 7.",
        14,
        ge=1,
        le=MAX_BACKUP_DAYS,
    )
    credentials_version: int = key(
        "dataCredentialsVersion",
        "Bump to rotate every generated database and Redis password: new passwords are generated, the role "
        "provisioning Job re-runs, and the services roll onto the new connection Secrets.",
        1,
        ge=1,
    )
    role_connection_limit: int = key(
        "databaseRoleConnectionLimit",
        "Connections each service's database role may hold (its replicas x pool size, plus the migration Job).",
        100,
        ge=5,
        le=5000,
    )
    # --- AWS ------------------------------------------------------------------------------------------------------
    aws_postgres_instance_class: str = key(
        "awsPostgresInstanceClass", "RDS instance class (Graviton db.m7g/db.r7g for prod).", "db.m7g.large"
    )
    aws_redis_node_type: str = key(
        "awsRedisNodeType", "ElastiCache node type of the primary and its replica.", "cache.m7g.large"
    )
    # --- GCP ------------------------------------------------------------------------------------------------------
    gcp_postgres_tier: str = key(
        "gcpPostgresTier", "Cloud SQL machine tier (db-custom-<vCPUs>-<MiB> or a predefined type).", "db-custom-2-8192"
    )
    gcp_redis_memory_gi: int = key(
        "gcpRedisMemoryGi", "Memorystore capacity, GiB (its network throughput grows with it).", 5, ge=1, le=300
    )

    @field_validator("aws_postgres_instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not AWS_INSTANCE_CLASS.match(value):
            raise ValueError("must be an RDS instance class such as db.m7g.large")
        return value

    @field_validator("aws_redis_node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        if not AWS_CACHE_NODE_TYPE.match(value):
            raise ValueError("must be an ElastiCache node type such as cache.m7g.large")
        return value

    @field_validator("gcp_postgres_tier")
    @classmethod
    def _tier(cls, value: str) -> str:
        if not GCP_SQL_TIER.match(value):
            raise ValueError("must be a Cloud SQL tier such as db-custom-2-8192 or db-n2-standard-4")
        return value

    def mode(self, cluster: ClusterConfig) -> DataTierMode:
        """The tier this stack runs: ``auto`` resolved by the environment profile."""
        if self.data_tier != "auto":
            return self.data_tier
        return "managed" if cluster.is_prod else "in-cluster"

    def issues(self, cluster: ClusterConfig) -> list[ConfigIssue]:
        """Storage bounds, and what prod promises: managed, HA services with a week of backups at least."""
        found: list[ConfigIssue] = []
        if self.postgres_max_storage_gi < self.postgres_storage_gi:
            found.append(
                ConfigIssue(
                    "postgresMaxStorageGi",
                    self.postgres_max_storage_gi,
                    f"must be >= postgresStorageGi ({self.postgres_storage_gi})",
                )
            )
        if not cluster.is_prod:
            return found
        if self.data_tier == "in-cluster":
            found.append(
                ConfigIssue("dataTier", self.data_tier, "prod allows auto or managed (HA, backups, encryption at rest)")
            )
        if self.backup_retention_days < PROD_MIN_BACKUP_DAYS:
            found.append(
                ConfigIssue(
                    "backupRetentionDays", self.backup_retention_days, f"prod needs at least {PROD_MIN_BACKUP_DAYS}"
                )
            )
        return found
