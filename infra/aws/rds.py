"""RDS for PostgreSQL: the prod database on AWS, private to the cluster, encrypted, backed up, hard to delete.

- Multi-AZ (a synchronous standby in another zone, automatic failover) when ``highly_available``.
- Storage gp3, encrypted with the stack's KMS key (``AwsNetwork.kms_key_arn``), grown automatically up to a cap;
  Performance Insights encrypted with the same key.
- Automated daily backups kept ``backup_retention_days`` (also the point-in-time recovery window), a final
  snapshot on deletion, deletion protection in prod, minor versions upgraded in the maintenance window.
- In the cluster's private subnets, not publicly accessible, and its security group admits only the EKS cluster
  security group (every node carries it) on 5432. TLS is forced by the parameter group (``rds.force_ssl``).
- The master user is an ordinary RDS administrator (``rds_superuser``, not a PostgreSQL superuser) whose password
  comes from ``pulumi_random``; the services get their own least-privilege roles (infra/data/provision_roles.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.store_network import cluster_only_security_group
from infra.cluster import AwsNetwork
from infra.data.endpoints import NetworkLocation, PostgresServer
from infra.data.postgres_settings import ManagedPostgresSettings
from infra.data.versions import RDS_ENGINE_VERSION, RDS_PARAMETER_FAMILY

POSTGRES_PORT = 5432
#: Backups run in a quiet hour (UTC) that does not overlap the maintenance window.
BACKUP_WINDOW = "03:00-04:00"
MAINTENANCE_WINDOW = "sun:04:30-sun:05:30"
PERFORMANCE_INSIGHTS_DAYS = 7
#: The RSA 2048 CA with a 40-year lifetime: no forced certificate rotation for the life of the instance.
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
#: Server settings beyond RDS's defaults: TLS only, SCRAM only, slow statements and lock waits logged.
PARAMETERS = {
    "rds.force_ssl": "1",
    "password_encryption": "scram-sha-256",
    "log_min_duration_statement": "1000",
    "log_lock_waits": "1",
}


@dataclass(frozen=True)
class RdsPostgresArgs:
    #: sizing, backups and protection (with ``protect`` also a final snapshot on deletion)
    postgres: ManagedPostgresSettings
    instance_class: str
    #: the cluster's VPC, private subnets and KMS key; its cluster security group is the only source admitted
    network: AwsNetwork


class RdsPostgres(pulumi.ComponentResource):
    """Subnet group, security group, parameter group and the instance; ``server`` is what the data tier uses."""

    server: PostgresServer

    def __init__(self, name: str, args: RdsPostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:RdsPostgres", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        postgres, network = args.postgres, args.network
        identifier = f"{postgres.name_prefix}-postgres"
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            aws.rds.SubnetGroupArgs(
                name=identifier,
                description="Private subnets of the Helpline cluster",
                subnet_ids=list(network.private_subnet_ids),
            ),
            opts=child,
        )
        security_group = cluster_only_security_group(
            name, identifier=identifier, store="Postgres", port=POSTGRES_PORT, network=network, opts=child
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-parameters",
            aws.rds.ParameterGroupArgs(
                name=identifier,
                family=RDS_PARAMETER_FAMILY,
                description="Helpline: TLS and SCRAM only, slow statements logged",
                parameters=[
                    aws.rds.ParameterGroupParameterArgs(name=key, value=value, apply_method="pending-reboot")
                    for key, value in PARAMETERS.items()
                ],
            ),
            opts=child,
        )
        instance = aws.rds.Instance(
            f"{name}-instance",
            aws.rds.InstanceArgs(
                identifier=identifier,
                engine="postgres",
                engine_version=RDS_ENGINE_VERSION,
                instance_class=args.instance_class,
                allocated_storage=postgres.storage_gi,
                max_allocated_storage=postgres.max_storage_gi,
                storage_type="gp3",
                storage_encrypted=True,
                kms_key_id=network.kms_key_arn,
                db_name=postgres.database,
                username=postgres.admin_user,
                password=postgres.admin_password,
                port=POSTGRES_PORT,
                db_subnet_group_name=subnets.name,
                vpc_security_group_ids=[security_group.id],
                parameter_group_name=parameters.name,
                publicly_accessible=False,
                multi_az=postgres.highly_available,
                ca_cert_identifier=CA_CERT_IDENTIFIER,
                backup_retention_period=postgres.backup_retention_days,
                backup_window=BACKUP_WINDOW,
                maintenance_window=MAINTENANCE_WINDOW,
                copy_tags_to_snapshot=True,
                delete_automated_backups=not postgres.protect,
                deletion_protection=postgres.protect,
                skip_final_snapshot=not postgres.protect,
                final_snapshot_identifier=f"{identifier}-final" if postgres.protect else None,
                auto_minor_version_upgrade=True,
                allow_major_version_upgrade=False,
                apply_immediately=False,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=network.kms_key_arn,
                performance_insights_retention_period=PERFORMANCE_INSIGHTS_DAYS,
                enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
                iam_database_authentication_enabled=False,
                tags={"Name": identifier},
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=postgres.protect),
        )
        self.server = PostgresServer(
            host=instance.address,
            port=POSTGRES_PORT,
            database=postgres.database,
            admin_user=postgres.admin_user,
            admin_password=postgres.admin_password,
            ssl_mode="require",
            location=NetworkLocation(port=POSTGRES_PORT, cidrs=[network.vpc_cidr]),
            ready=[instance],
        )
        self.register_outputs({"address": instance.address, "identifier": identifier})
