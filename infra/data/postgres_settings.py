"""What a managed Postgres is asked for, the same on RDS and Cloud SQL; each cloud adds only its machine size."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ManagedPostgresSettings:
    name_prefix: str
    storage_gi: int
    #: storage grows on its own up to here
    max_storage_gi: int
    #: daily backups kept this long (also the point-in-time recovery window, within the cloud's limit)
    backup_retention_days: int
    #: a synchronous standby in another zone with automatic failover (Multi-AZ / regional): prod
    highly_available: bool
    #: deletion protection at the API, backups kept after deletion, and Pulumi's protect flag: prod
    protect: bool
    database: str
    #: the cloud's administrator (``rds_superuser`` / ``cloudsqlsuperuser``), not a PostgreSQL superuser
    admin_user: str
    #: a Pulumi secret
    admin_password: pulumi.Output[str]
