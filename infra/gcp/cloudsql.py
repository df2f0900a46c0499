"""Cloud SQL for PostgreSQL: the prod database on GCP, on a private IP, regional, backed up with PITR.

- Regional availability (a standby in another zone of the region, automatic failover) when ``highly_available``.
- Private IP only, through the cluster VPC's private service access (``GcpNetwork.network_self_link``, which waits
  for the peering); no public address. Only encrypted connections are accepted, and clients verify the server
  against the instance's CA (``verify-ca``: the certificate names the instance, not its IP).
- Encrypted with the stack's data key (CMEK); the Cloud SQL service agent is granted use of that key only.
- Daily backups kept ``backup_retention_days``, point-in-time recovery from transaction logs (at most 7 days),
  deletion protection at the API and in Pulumi in prod.
- The administrator is a built-in user (``cloudsqlsuperuser``, not a PostgreSQL superuser) with a
  ``pulumi_random`` password; the services get their own least-privilege roles (infra/data/provision_roles.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from infra.cluster import GcpNetwork
from infra.data.endpoints import NetworkLocation, PostgresServer, pem_bundle
from infra.data.postgres_settings import ManagedPostgresSettings
from infra.data.versions import CLOUD_SQL_DATABASE_VERSION
from infra.gcp.kms import enable_service_with_key_access
from infra.gcp.principals import cloud_sql_service_agent

POSTGRES_PORT = 5432
BACKUP_START = "03:00"
#: Sunday 04:00 UTC, on the stable track (after the canary track has had the update for a week).
MAINTENANCE_DAY, MAINTENANCE_HOUR = 7, 4
#: Cloud SQL keeps transaction logs for point-in-time recovery at most this long.
MAX_LOG_RETENTION_DAYS = 7
DATABASE_FLAGS = {"log_min_duration_statement": "1000", "log_lock_waits": "on"}


@dataclass(frozen=True)
class CloudSqlPostgresArgs:
    postgres: ManagedPostgresSettings
    project_number: str
    tier: str
    #: the cluster's VPC (peered for private service access), project, region and data key
    network: GcpNetwork
    #: the private service access range: where the instance's address comes from
    private_services_cidr: str
    labels: dict[str, str]


class CloudSqlPostgres(pulumi.ComponentResource):
    server: PostgresServer

    def __init__(self, name: str, args: CloudSqlPostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:gcp:CloudSqlPostgres", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        postgres, network = args.postgres, args.network
        prerequisites = enable_service_with_key_access(
            name,
            api="sqladmin.googleapis.com",
            agent=cloud_sql_service_agent(args.project_number),
            project=network.project,
            kms_key_id=network.kms_key_id,
            opts=child,
        )
        # Instance names stay reserved for a week after deletion: a suffix lets a destroyed dev stack come back.
        suffix = random.RandomId(f"{name}-suffix", byte_length=2, opts=child)
        instance = gcp.sql.DatabaseInstance(
            f"{name}-instance",
            name=suffix.hex.apply(lambda hex_suffix: f"{postgres.name_prefix}-pg-{hex_suffix}"),
            project=network.project,
            region=network.region,
            database_version=CLOUD_SQL_DATABASE_VERSION,
            encryption_key_name=network.kms_key_id,
            deletion_protection=postgres.protect,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=args.tier,
                edition="ENTERPRISE",
                availability_type="REGIONAL" if postgres.highly_available else "ZONAL",
                disk_type="PD_SSD",
                disk_size=postgres.storage_gi,
                disk_autoresize=True,
                disk_autoresize_limit=postgres.max_storage_gi,
                deletion_protection_enabled=postgres.protect,
                retain_backups_on_delete=postgres.protect,
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    start_time=BACKUP_START,
                    point_in_time_recovery_enabled=True,
                    transaction_log_retention_days=min(postgres.backup_retention_days, MAX_LOG_RETENTION_DAYS),
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=postgres.backup_retention_days, retention_unit="COUNT"
                    ),
                ),
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False,
                    private_network=network.network_self_link,
                    ssl_mode="ENCRYPTED_ONLY",
                    server_ca_mode="GOOGLE_MANAGED_INTERNAL_CA",
                ),
                database_flags=[
                    gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=flag, value=value)
                    for flag, value in DATABASE_FLAGS.items()
                ],
                insights_config=gcp.sql.DatabaseInstanceSettingsInsightsConfigArgs(
                    query_insights_enabled=True, record_application_tags=True, record_client_address=False
                ),
                maintenance_window=gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(
                    day=MAINTENANCE_DAY, hour=MAINTENANCE_HOUR, update_track="stable"
                ),
                user_labels=dict(args.labels),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites, protect=postgres.protect),
        )
        database = gcp.sql.Database(
            f"{name}-database",
            name=postgres.database,
            instance=instance.name,
            project=network.project,
            # In prod the database outlives an accidental removal from the program; the instance is protected anyway.
            deletion_policy="ABANDON" if postgres.protect else "DELETE",
            opts=child,
        )
        admin = gcp.sql.User(
            f"{name}-admin",
            name=postgres.admin_user,
            instance=instance.name,
            project=network.project,
            type="BUILT_IN",
            password=postgres.admin_password,
            opts=child,
        )
        self.server = PostgresServer(
            host=instance.private_ip_address,
            port=POSTGRES_PORT,
            database=postgres.database,
            admin_user=postgres.admin_user,
            admin_password=postgres.admin_password,
            ssl_mode="verify-ca",
            location=NetworkLocation(port=POSTGRES_PORT, cidrs=[args.private_services_cidr]),
            ca_certificate=instance.server_ca_certs.apply(pem_bundle),
            ready=[instance, database, admin],
        )
        self.register_outputs({"connectionName": instance.connection_name, "privateIp": instance.private_ip_address})
