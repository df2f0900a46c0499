"""``DataTier``: Postgres and Redis for the stack, one role per service, and the Secrets the services read.

Whatever runs the stores (``in-cluster``: CloudNativePG + Redis; ``managed``: RDS + ElastiCache or Cloud SQL +
Memorystore), the rest is the same:

1. passwords come from ``pulumi_random`` (Memorystore generates its own AUTH string), kept as Pulumi secrets and
   regenerated when ``dataCredentialsVersion`` is bumped;
2. the role-provisioning Job (data namespace) creates one least-privilege login role per service that owns a schema;
3. each such service gets a Secret ``<service>-database`` (key ``url``) in the app namespace, and the Redis users
   share ``redis`` (key ``url``): the only way connection details reach a pod. CA certificates the clients must
   trust (Cloud SQL, Memorystore) go into ConfigMaps beside them;
4. ``connections`` tells the services stage which Secret, CA and egress rule each service needs, and what to wait
   for (the Job and the Secrets) before migrating.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random

from infra.cluster import AwsNetwork, ClusterInterface, GcpNetwork
from infra.data import provisioning
from infra.data.cnpg import ADMIN_ROLE, ADMIN_SECRET, DATABASE, admin_secret
from infra.data.endpoints import (
    CaBundle,
    DataConnections,
    PostgresServer,
    RedisServer,
    SecretKeyRef,
    StoreAccess,
    postgres_ca_bundle,
    redis_ca_bundle,
)
from infra.data.in_cluster import InClusterStores, InClusterStoresArgs
from infra.data.managed import ManagedStoresArgs, aws_stores, gcp_stores
from infra.data.network import provisioning_policy
from infra.data.urls import postgres_url, redis_url
from infra.k8s.labels import standard_labels
from infra.k8s.objects import config_map, secret, service_account
from infra.k8s.resources import declare
from infra.naming import Naming
from stacks.config import StackConfig
from stacks.config.data import DataTierMode

#: Long enough to resist guessing, alphanumeric so they survive URLs, config files and headers unquoted.
PASSWORD_LENGTH = 40
URL_KEY = "url"
REDIS_SECRET = "redis"  # noqa: S105  (a name, not a value)
POSTGRES_CA = "postgres-ca"
REDIS_CA = "redis-ca"


def database_secret_name(service: str) -> str:
    return f"{service}-database"


@dataclass(frozen=True)
class DataTierArgs:
    stack: str
    mode: DataTierMode
    environment: str
    data_namespace: str
    app_namespace: str
    #: the image the provisioning Job runs in (it carries Python and asyncpg)
    app_image: str
    #: services that own a schema: each gets a login role of the same name
    database_services: tuple[str, ...]
    storage_class: str
    api_server_cidrs: tuple[str, ...]
    postgres_storage_gi: int
    redis_storage_gi: int
    credentials_version: int
    role_connection_limit: int
    managed: ManagedStoresArgs

    @classmethod
    def from_config(
        cls,
        config: StackConfig,
        naming: Naming,
        cluster: ClusterInterface,
        *,
        database_services: Sequence[str],
        api_server_cidrs: Sequence[str],
    ) -> DataTierArgs:
        data, cluster_config = config.data, config.cluster
        return cls(
            stack=naming.stack,
            mode=data.mode(cluster_config),
            environment=cluster_config.environment,
            data_namespace=naming.namespace("data"),
            app_namespace=naming.namespace("app"),
            app_image=config.services.app_image,
            database_services=tuple(database_services),
            storage_class=cluster.block_storage_class,
            api_server_cidrs=tuple(api_server_cidrs),
            postgres_storage_gi=data.postgres_storage_gi,
            redis_storage_gi=data.redis_storage_gi,
            credentials_version=data.credentials_version,
            role_connection_limit=data.role_connection_limit,
            managed=ManagedStoresArgs(
                stack=naming.stack,
                name_prefix=naming.prefix,
                region=cluster_config.region,
                zones=tuple(cluster.zones),
                highly_available=cluster_config.is_prod,
                protect=cluster_config.is_prod,
                database=DATABASE,
                admin_user=ADMIN_ROLE,
                postgres_storage_gi=data.postgres_storage_gi,
                postgres_max_storage_gi=data.postgres_max_storage_gi,
                backup_retention_days=data.backup_retention_days,
                aws_postgres_instance_class=data.aws_postgres_instance_class,
                aws_redis_node_type=data.aws_redis_node_type,
                gcp_project_number=cluster_config.gcp_project_number,
                gcp_postgres_tier=data.gcp_postgres_tier,
                gcp_redis_memory_gi=data.gcp_redis_memory_gi,
                gcp_private_services_cidr=cluster_config.gcp_private_services_cidr,
            ),
        )

    @property
    def provisioning_target(self) -> str:
        """Names the server the roles live on: moving the stack to other stores re-runs the Job."""
        return f"{self.mode}:{self.managed.name_prefix}"


class DataTier(pulumi.ComponentResource):
    """The stores, the services' roles, and the connection Secrets; see ``connections``."""

    connections: DataConnections
    postgres: PostgresServer
    redis: RedisServer

    def __init__(
        self,
        name: str,
        args: DataTierArgs,
        cluster: ClusterInterface,
        *,
        after: Sequence[pulumi.Resource] = (),
        monitoring: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: the data and app namespaces (with the platform's baseline); ``monitoring``: the PodMonitor CRD."""
        super().__init__(
            "helpline:data:DataTier",
            name,
            None,
            pulumi.ResourceOptions.merge(pulumi.ResourceOptions(provider=cluster.provider), opts),
        )
        self._args = args
        self._after = list(after)
        self._labels = standard_labels("data-tier", "data", args.stack)

        admin_password = self._password("postgres-admin")
        role_passwords = {service: self._password(f"postgres-{service}") for service in args.database_services}
        self.postgres, self.redis = self._stores(cluster, admin_password, monitoring)

        provisioned = self._provision_roles(role_passwords)
        postgres_ca = self._app_ca(POSTGRES_CA, self.postgres.ca_certificate, postgres_ca_bundle)
        databases = {
            service: self._database_access(service, password, postgres_ca, provisioned)
            for service, password in role_passwords.items()
        }
        redis = self._redis_access(self._app_ca(REDIS_CA, self.redis.ca_certificate, redis_ca_bundle))
        self.connections = DataConnections(
            databases=databases, redis=redis, ready=[provisioned, *self.postgres.ready, *self.redis.ready]
        )
        self.register_outputs(
            {
                "mode": args.mode,
                "postgresHost": self.postgres.host,
                "redisHost": self.redis.host,
                "databaseRoles": list(args.database_services),
            }
        )

    # --- credentials -----------------------------------------------------------------------------------------------
    def _password(self, purpose: str) -> pulumi.Output[str]:
        """A generated password, replaced (and so rotated) when ``dataCredentialsVersion`` changes."""
        password = random.RandomPassword(
            f"{purpose}-password",
            length=PASSWORD_LENGTH,
            special=False,
            keepers={"version": str(self._args.credentials_version)},
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        return pulumi.Output.secret(password.result)

    # --- the stores ------------------------------------------------------------------------------------------------
    def _stores(
        self, cluster: ClusterInterface, admin_password: pulumi.Output[str], monitoring: Sequence[pulumi.Resource]
    ) -> tuple[PostgresServer, RedisServer]:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        if args.mode == "in-cluster":
            stores = InClusterStores(
                "stores",
                InClusterStoresArgs(
                    stack=args.stack,
                    namespace=args.data_namespace,
                    app_namespace=args.app_namespace,
                    storage_class=args.storage_class,
                    postgres_storage_gi=args.postgres_storage_gi,
                    redis_storage_gi=args.redis_storage_gi,
                    api_server_cidrs=args.api_server_cidrs,
                    admin_password=admin_password,
                    redis_password=self._password("redis"),
                    credentials_version=args.credentials_version,
                ),
                after=self._after,
                monitoring=monitoring,
                opts=child,
            )
            return stores.postgres, stores.redis
        # The administrator's Secret exists for managed stores too: the provisioning Job reads its password there.
        declare(admin_secret(args.data_namespace, self._labels, admin_password), self._inside())
        network = cluster.network
        if isinstance(network, AwsNetwork):
            return aws_stores(
                "stores",
                args.managed,
                network,
                admin_password=admin_password,
                redis_token=self._password("redis"),
                opts=child,
            )
        if isinstance(network, GcpNetwork):
            return gcp_stores(
                "stores", args.managed, network, environment=args.environment, admin_password=admin_password, opts=child
            )
        raise TypeError(f"no managed data tier for network {type(network).__name__}")

    def _inside(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[*self._after, *depends_on])

    # --- roles -----------------------------------------------------------------------------------------------------
    def _provision_roles(self, passwords: Mapping[str, pulumi.Output[str]]) -> pulumi.Resource:
        """The Job that creates the services' roles, after the server and its credentials exist."""
        args, postgres = self._args, self.postgres
        namespace = args.data_namespace
        labels = standard_labels(provisioning.NAME, "data", args.stack)
        inside = self._inside()
        prerequisites = [
            declare(provisioning.script_config_map(namespace, labels), inside),
            declare(provisioning.roles_secret(namespace, labels, passwords), inside),
            declare(service_account(provisioning.NAME, namespace, labels, automount=False), inside),
            declare(provisioning_policy(namespace, postgres.location, labels), inside),
        ]
        ca_config_map = None
        if postgres.ca_certificate is not None:
            ca_config_map = POSTGRES_CA
            prerequisites.append(
                declare(_ca_config_map(POSTGRES_CA, namespace, labels, postgres.ca_certificate), inside)
            )
        job = provisioning.provisioning_job(
            name=provisioning.job_name(
                roles=args.database_services,
                image=args.app_image,
                target=args.provisioning_target,
                credentials_version=args.credentials_version,
                connection_limit=args.role_connection_limit,
            ),
            namespace=namespace,
            labels=labels,
            image=args.app_image,
            host=postgres.host,
            port=postgres.port,
            database=postgres.database,
            admin_user=postgres.admin_user,
            admin_secret=ADMIN_SECRET,
            ssl_mode=postgres.ssl_mode,
            ca_config_map=ca_config_map,
            connection_limit=args.role_connection_limit,
        )
        return declare(job, self._inside(*prerequisites, *postgres.ready))

    # --- what the services read --------------------------------------------------------------------------------------
    def _database_access(
        self, service: str, password: pulumi.Output[str], ca: CaBundle | None, provisioned: pulumi.Resource
    ) -> StoreAccess:
        """``<service>-database``: the service's own role, written once the Job has created it."""
        args, postgres = self._args, self.postgres
        url = pulumi.Output.all(postgres.host, password).apply(
            lambda values: postgres_url(
                user=service,
                password=values[1],
                host=values[0],
                port=postgres.port,
                database=postgres.database,
                ssl_mode=postgres.ssl_mode,
            )
        )
        secret_name = database_secret_name(service)
        labels = standard_labels(secret_name, "data", args.stack)
        declare(_url_secret(secret_name, args.app_namespace, labels, url), self._inside(provisioned))
        return StoreAccess(url=SecretKeyRef(secret_name, URL_KEY), location=postgres.location, ca=ca)

    def _redis_access(self, ca: CaBundle | None) -> StoreAccess:
        """``redis``: shared by the gateway (limits, leases, key cache) and auth (revocations)."""
        args, redis = self._args, self.redis
        url = pulumi.Output.all(redis.host, redis.password).apply(
            lambda values: redis_url(
                password=values[1],
                host=values[0],
                port=redis.port,
                tls=redis.tls,
                ca_file=ca.path if ca is not None else None,
            )
        )
        labels = standard_labels(REDIS_SECRET, "data", args.stack)
        declare(_url_secret(REDIS_SECRET, args.app_namespace, labels, url), self._inside(*redis.ready))
        return StoreAccess(url=SecretKeyRef(REDIS_SECRET, URL_KEY), location=redis.location, ca=ca)

    def _app_ca(
        self, name: str, certificate: pulumi.Output[str] | None, bundle: Callable[[str], CaBundle]
    ) -> CaBundle | None:
        """The CA clients must trust, as a ConfigMap in the app namespace; None when the store needs none."""
        if certificate is None:
            return None
        labels = standard_labels(name, "data", self._args.stack)
        declare(_ca_config_map(name, self._args.app_namespace, labels, certificate), self._inside())
        return bundle(name)


def _url_secret(name: str, namespace: str, labels: Mapping[str, str], url: pulumi.Output[str]) -> dict[str, Any]:
    return secret(name, namespace, labels, {URL_KEY: pulumi.Output.secret(url)})


def _ca_config_map(name: str, namespace: str, labels: Mapping[str, str], certificate: Any) -> dict[str, Any]:
    """A CA certificate is public: a ConfigMap, not a Secret."""
    return config_map(name, namespace, labels, {"ca.crt": certificate})
