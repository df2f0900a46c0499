"""What every Postgres/Redis backend hands the data tier, and what the data tier hands the services.

The backends (CloudNativePG and Redis in the cluster, RDS/ElastiCache, Cloud SQL/Memorystore) differ in how they
are made; once made, each is a host, a port, an administrator credential, a TLS policy and a network location.
Those shapes are here, so the data tier, the network policies and the services never ask which backend it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.data.urls import POSTGRES_CA_ENV, SslMode
from infra.k8s.network_policies import allow_to, ip_block, peer


@dataclass(frozen=True)
class NetworkLocation:
    """Where a server is, as a NetworkPolicy peer: pods in a namespace (in-cluster) or address ranges (managed)."""

    port: int
    namespace: str | None = None
    pod_labels: Mapping[str, str] | None = None
    cidrs: Sequence[str] = ()

    def __post_init__(self) -> None:
        if (self.namespace is None) == (not self.cidrs):
            raise ValueError("a network location is either pods in a namespace or address ranges, not both")

    def peers(self) -> list[dict[str, Any]]:
        if self.namespace is not None:
            return [peer(self.namespace, self.pod_labels)]
        return [ip_block(cidr) for cidr in self.cidrs]

    def egress(self) -> dict[str, Any]:
        """The egress rule that lets a client reach this server."""
        return allow_to(self.peers(), [self.port])


def pem_bundle(certificates: Sequence[Mapping[str, Any]]) -> str:
    """Every CA certificate a managed service lists, as one PEM bundle.

    During a CA rotation Cloud SQL and Memorystore list the old and the new CA; trusting both keeps clients
    connecting whichever one signed the server's current certificate.
    """
    pems = [str(certificate.get("cert") or "").strip() for certificate in certificates]
    bundle = "\n".join(pem for pem in pems if pem)
    if not bundle:
        raise ValueError("the service lists no CA certificate")
    return bundle + "\n"


@dataclass(frozen=True)
class PostgresServer:
    """A Postgres server with one database, reachable from the cluster, administered by a non-superuser role."""

    host: pulumi.Input[str]
    port: int
    database: str
    admin_user: str
    #: a Pulumi secret
    admin_password: pulumi.Output[str]
    ssl_mode: SslMode
    location: NetworkLocation
    #: PEM of the CA that signed the server's certificate, when clients verify it (``verify-ca``)
    ca_certificate: pulumi.Output[str] | None = None
    #: what must exist before anyone connects (the instance, its users, its network)
    ready: Sequence[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class RedisServer:
    """A Redis server (or primary endpoint) that requires a password, optionally over TLS."""

    host: pulumi.Input[str]
    port: int
    #: a Pulumi secret
    password: pulumi.Output[str]
    tls: bool
    location: NetworkLocation
    #: PEM of a private CA clients must trust (Memorystore); None: plain, or a publicly trusted certificate
    ca_certificate: pulumi.Output[str] | None = None
    ready: Sequence[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of a Secret in the app namespace (the services mount it as a file: ``infra.services.workload``)."""

    name: str
    key: str


@dataclass(frozen=True)
class CaBundle:
    """A CA certificate in a ConfigMap of the app namespace, mounted read-only where clients look for it."""

    config_map: str
    key: str
    mount_dir: str
    #: the environment variable that points the client at it (``PGSSLROOTCERT``), if the client reads one
    env_var: str | None = None

    @property
    def path(self) -> str:
        return f"{self.mount_dir}/{self.key}"

    def volume(self) -> dict[str, Any]:
        return {
            "name": self.config_map,
            "configMap": {"name": self.config_map, "items": [{"key": self.key, "path": self.key}]},
        }

    def volume_mount(self) -> dict[str, Any]:
        return {"name": self.config_map, "mountPath": self.mount_dir, "readOnly": True}

    def env(self) -> list[dict[str, Any]]:
        return [{"name": self.env_var, "value": self.path}] if self.env_var else []


def postgres_ca_bundle(config_map: str) -> CaBundle:
    return CaBundle(config_map, "ca.crt", "/etc/helpline/tls/postgres", POSTGRES_CA_ENV)


def redis_ca_bundle(config_map: str) -> CaBundle:
    """redis-py takes the path in the URL (``ssl_ca_certs``), so no variable points at it."""
    return CaBundle(config_map, "ca.crt", "/etc/helpline/tls/redis")


@dataclass(frozen=True)
class StoreAccess:
    """How a service reaches one store: its URL (a Secret key), the CA to trust if any, and the egress it needs."""

    url: SecretKeyRef
    location: NetworkLocation
    ca: CaBundle | None = None


@dataclass(frozen=True)
class DataConnections:
    """What the services stage receives: per service its database, and the shared Redis."""

    databases: Mapping[str, StoreAccess]
    redis: StoreAccess
    #: the role-provisioning Job and the connection Secrets: migrations and services wait for them
    ready: Sequence[pulumi.Resource] = field(default_factory=list)
