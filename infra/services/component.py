"""``Services``: the four Helpline services in the app namespace, each an ``AppService`` built from its spec.

The component first writes the secrets every service shares or one service alone reads: the internal identity
token's key (``pulumi_random``), auth's Ed25519 signing key (``pulumi_tls``), and the engine API key copied from the
serving stage (chat only). Then, per service: ServiceAccount, NetworkPolicy, Service, the migration Job (services
with a schema) ordered before the Deployment, the HorizontalPodAutoscaler and the PodDisruptionBudget.

Scraping: the monitoring stage's ServiceMonitor ``services`` selects every Service of the app namespace labelled
``app.kubernetes.io/part-of: helpline`` on its port ``http`` (docs/monitoring.md), so each service is scraped
through it; a ServiceMonitor per service here would scrape every pod twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
import pulumi_tls as tls

from infra.data.endpoints import DataConnections, SecretKeyRef
from infra.k8s.labels import standard_labels
from infra.k8s.objects import secret
from infra.k8s.resources import declare
from infra.naming import Naming
from infra.platform.gateway_api import EdgeAttachment, ServiceRef
from infra.platform.status_page import status_page_url
from infra.services import nats, network, workload
from infra.services.catalog import (
    DATABASE_SERVICES,
    ENGINE_API_KEY,
    INTERNAL_TOKEN,
    PII_VAULT_KEY,
    SIGNING_KEY,
    CatalogInputs,
    Models,
    service_specs,
)
from infra.services.spec import HTTP_PORT, SERVICE_NAMES, ServiceName, ServiceSpec
from stacks.config import StackConfig

#: HS256 key of the internal identity tokens: 64 alphanumerics (~380 bits), well above the settings' 32-character floor.
INTERNAL_TOKEN_LENGTH = 64
#: PII-vault secret: 48 alphanumerics (~285 bits), above chat's 32-character floor.
PII_VAULT_KEY_LENGTH = 48
PUBLIC_SERVICE: ServiceName = "gateway"
#: JetStream's token for sessions: alphanumeric (it is the URL's user part), ~285 bits.
NATS_TOKEN_LENGTH = 48
#: Three servers: a stream with three replicas keeps its quorum when one node or zone goes.
NATS_PROD_REPLICAS = 3


@dataclass(frozen=True)
class ServicesArgs:
    stack: str
    namespace: str
    image: str
    specs: Mapping[ServiceName, ServiceSpec]
    spread_across_zones: bool
    #: the data tier's credentials version: pods roll when it changes (they read their Secrets at start)
    credentials_version: int
    #: NATS's JetStream volume (the cluster's block storage class) and its servers (3 in prod: replicated stream)
    storage_class: str
    nats_replicas: int

    @classmethod
    def from_config(
        cls,
        config: StackConfig,
        naming: Naming,
        *,
        data: DataConnections,
        models: Models,
        otlp_endpoint: str,
        storage_class: str,
    ) -> ServicesArgs:
        services = config.services
        namespace = naming.namespace("app")
        inputs = CatalogInputs(
            stack=naming.stack,
            namespace=namespace,
            serving_namespace=naming.namespace("serving"),
            monitoring_namespace=naming.namespace("monitoring"),
            otlp_endpoint=otlp_endpoint,
            models=models,
            data=data,
            replicas={name: services.replicas(name) for name in SERVICE_NAMES},
            stream_drain_seconds=services.stream_drain_seconds,
            retention_days=services.conversation_retention_days,
            log_level=services.services_log_level,
            trusted_proxy_cidrs=config.cluster.pod_cidrs,
            status_page_url=status_page_url(config.platform.chat_host),
        )
        return cls(
            stack=naming.stack,
            namespace=namespace,
            image=services.app_image,
            specs=service_specs(inputs),
            spread_across_zones=config.is_prod,
            credentials_version=config.data.credentials_version,
            storage_class=storage_class,
            nats_replicas=NATS_PROD_REPLICAS if config.is_prod else 1,
        )

    @property
    def rollout_annotations(self) -> dict[str, str]:
        return {workload.ROLLOUT_ANNOTATION: str(self.credentials_version)}


def check_edge(edge: EdgeAttachment, namespace: str) -> None:
    """The platform routes the public hostname to ``edge.backend``: it must be the gateway's Service as built here."""
    expected = ServiceRef(namespace, PUBLIC_SERVICE, HTTP_PORT)
    if edge.backend != expected:
        raise ValueError(f"the edge routes to {edge.backend}, but the public service is {expected}")


class AppService(pulumi.ComponentResource):
    """One service's objects; the Deployment waits for its migration Job (when it has one)."""

    deployment: pulumi.Resource
    migration: pulumi.Resource | None

    def __init__(
        self,
        spec: ServiceSpec,
        args: ServicesArgs,
        *,
        database_egress: Mapping[str, Any] | None,
        after: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("helpline:services:AppService", spec.name, None, opts)
        namespace, stack = args.namespace, args.stack
        inside = pulumi.ResourceOptions(parent=self, depends_on=list(after))
        labels = workload.service_labels(spec, stack)
        account = declare(workload.service_account(spec, namespace=namespace, stack=stack), inside)
        declare(network.service_policy(spec, namespace, labels), inside)
        declare(workload.service(spec, namespace=namespace, stack=stack), inside)
        self.migration = None
        if spec.migrates:
            if database_egress is None:
                raise ValueError(f"{spec.name} migrates but has no database")
            migration_labels = workload.migration_labels(spec, stack)
            policy = declare(network.migration_policy(spec, namespace, database_egress, migration_labels), inside)
            self.migration = declare(
                workload.migration_job(spec, namespace=namespace, stack=stack, image=args.image),
                pulumi.ResourceOptions(parent=self, depends_on=[*after, account, policy]),
            )
        rollout_after = [*after, account, *([self.migration] if self.migration is not None else [])]
        self.deployment = declare(
            workload.deployment(
                spec,
                namespace=namespace,
                stack=stack,
                image=args.image,
                spread_across_zones=args.spread_across_zones,
                rollout_annotations=args.rollout_annotations,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=rollout_after),
        )
        declare(
            workload.autoscaler(spec, namespace=namespace, stack=stack),
            pulumi.ResourceOptions(parent=self, depends_on=[*after, self.deployment]),
        )
        declare(workload.pod_disruption_budget(spec, namespace=namespace, stack=stack), inside)
        self.register_outputs({"deployment": spec.name, "migrates": spec.migrates})


class Services(pulumi.ComponentResource):
    """Shared secrets, then one ``AppService`` per service; ``url`` is the public chat API."""

    url: str
    services: dict[ServiceName, AppService]

    def __init__(
        self,
        name: str,
        args: ServicesArgs,
        *,
        provider: pulumi.ProviderResource,
        data: DataConnections,
        engine_api_key: pulumi.Input[str],
        edge: EdgeAttachment,
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: the app namespace and its baseline, and what the services call (the serving stage)."""
        check_edge(edge, args.namespace)
        super().__init__(
            "helpline:services:Services",
            name,
            None,
            pulumi.ResourceOptions.merge(pulumi.ResourceOptions(provider=provider), opts),
        )
        child = pulumi.ResourceOptions(parent=self)
        inside = pulumi.ResourceOptions(parent=self, depends_on=list(after))
        internal_token = random.RandomPassword(
            "internal-token",
            length=INTERNAL_TOKEN_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        signing_key = tls.PrivateKey("auth-signing-key", algorithm="ED25519", opts=child)
        pii_vault_key = random.RandomPassword(
            "pii-vault-key",
            length=PII_VAULT_KEY_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        secrets = [
            declare(self._secret(args, INTERNAL_TOKEN, internal_token.result), inside),
            declare(self._secret(args, SIGNING_KEY, signing_key.private_key_pem_pkcs8), inside),
            declare(self._secret(args, ENGINE_API_KEY, engine_api_key), inside),
            declare(self._secret(args, PII_VAULT_KEY, pii_vault_key.result), inside),
        ]
        secrets.append(self._events_server(args, inside))
        prerequisites = [*after, *secrets, *data.ready]
        self.services = {
            spec.name: AppService(
                spec,
                args,
                database_egress=data.databases[spec.name].location.egress() if spec.name in DATABASE_SERVICES else None,
                after=prerequisites,
                opts=child,
            )
            for spec in args.specs.values()
        }
        self.url = f"https://{edge.hostname}"
        self.register_outputs({"url": self.url, "services": list(self.services)})

    def _events_server(self, args: ServicesArgs, inside: pulumi.ResourceOptions) -> pulumi.CustomResource:
        """NATS with JetStream for the lifecycle events, and the two Secrets with its token; returns the
        StatefulSet (sessions starts after it, its relay reconnects anyway)."""
        namespace = args.namespace
        token = random.RandomPassword(
            "nats-token",
            length=NATS_TOKEN_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        labels = standard_labels(nats.NATS, "events", args.stack)
        server_auth = token.result.apply(nats.auth_config)
        declare(secret(nats.SERVER_SECRET.name, namespace, labels, {nats.SERVER_SECRET.key: server_auth}), inside)
        client_url = token.result.apply(lambda value: nats.client_url(namespace, value))
        declare(secret(nats.CLIENT_SECRET.name, namespace, labels, {nats.CLIENT_SECRET.key: client_url}), inside)
        declare(nats.config_map(namespace, labels, args.nats_replicas), inside)
        declare(nats.policy(namespace, labels), inside)
        for service in nats.services(namespace, labels):
            declare(service, inside)
        config = nats.server_config(namespace, args.nats_replicas)
        config_hash = hashlib.sha256(f"{config}|{args.credentials_version}".encode()).hexdigest()[:16]
        return declare(
            nats.stateful_set(
                namespace=namespace,
                labels=labels,
                replicas=args.nats_replicas,
                storage_class=args.storage_class,
                config_hash=config_hash,
                spread_across_zones=args.spread_across_zones,
            ),
            inside,
        )

    @staticmethod
    def _secret(args: ServicesArgs, reference: SecretKeyRef, value: pulumi.Input[str]) -> dict[str, Any]:
        labels = standard_labels(reference.name, "services", args.stack)
        return secret(reference.name, args.namespace, labels, {reference.key: pulumi.Output.secret(value)})
