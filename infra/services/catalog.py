"""The four services as ``ServiceSpec``s: what differs between them, and nothing else.

Settings follow the services' settings modules (``app/<service>/settings.py``, ``HELPLINE_*`` plus the standard
``OTEL_*``); a test reads those modules and fails when a variable set here is not a setting there. Every process
runs with ``HELPLINE_ENVIRONMENT=production`` in every stack: ``development`` relaxes secret checks and makes
each auth replica sign with its own throw-away key, which no deployed stack can work with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.data.endpoints import DataConnections, SecretKeyRef, StoreAccess
from infra.data.network import POSTGRES_CLIENT, REDIS_CLIENT
from infra.k8s.network_policies import allow_to, peer
from infra.platform.alerts.slos import TTFT_SLO_SECONDS
from infra.platform.monitoring_network import COLLECTOR_POD
from infra.platform.network_baseline import INTERNET
from infra.platform.tracing import OTLP_HTTP_PORT
from infra.services import nats
from infra.services.network import app_service, calls
from infra.services.spec import HTTP_PORT, Replicas, Resources, ServiceName, ServiceSpec
from infra.serving.network import ROUTER_SELECTOR
from infra.serving.spec import APP_PORT as ROUTER_PORT

#: Services that own a schema (a login role of the same name, a migration) and those that use Redis.
DATABASE_SERVICES: tuple[ServiceName, ...] = ("auth", "sessions", "chat")
REDIS_SERVICES: tuple[ServiceName, ...] = ("gateway", "auth")
#: Secrets the services stage writes in the app namespace (generated, or copied from the serving stage).
INTERNAL_TOKEN = SecretKeyRef("internal-token", "secret")
SIGNING_KEY = SecretKeyRef("auth-signing-key", "private-key.pem")
ENGINE_API_KEY = SecretKeyRef("engine-api-key", "api-key")
#: What chat derives each conversation's PII-vault key from (AES-256-GCM via HKDF); generated per stack.
PII_VAULT_KEY = SecretKeyRef("pii-vault-key", "key")
#: What a non-streaming service needs to finish its requests on SIGTERM (the settings' default).
REQUEST_DRAIN_SECONDS = 25
#: Where tenants' webhooks may be: the internet on HTTPS, never the cluster's or the cloud's private ranges (the
#: metadata service included), so a webhook URL cannot reach what only the cluster should.
WEBHOOK_EGRESS = allow_to([INTERNET], [443])
#: Each pod's connection pool (5 kept + 5 under bursts): with the default 6 replicas, 60 of a role's 100 connections.
DATABASE_POOL = {"HELPLINE_DATABASE_POOL_SIZE": "5", "HELPLINE_DATABASE_MAX_OVERFLOW": "5"}

RESOURCES: dict[ServiceName, Resources] = {
    "gateway": Resources("250m", "256Mi", "1", "512Mi"),
    # Argon2 hashes take 19 MiB and a core each (two at a time): the memory for them and the CPU to not queue.
    "auth": Resources("250m", "384Mi", "1", "768Mi"),
    "sessions": Resources("200m", "256Mi", "1", "512Mi"),
    "chat": Resources("250m", "384Mi", "1", "768Mi"),
}
COMPONENTS: dict[ServiceName, str] = {
    "gateway": "api-gateway",
    "auth": "identity",
    "sessions": "conversations",
    "chat": "assistant",
}


@dataclass(frozen=True)
class Models:
    """The served models the chat service asks for, through the router (or the simulator standing in for vLLM)."""

    engine_url: str
    chat_model: str
    classifier_model: str
    chat_max_model_len: int
    #: The most turns the chat engines batch at once (``ModelSpec.peak_sequences``): gateway admission's budget.
    chat_peak_sequences: int
    #: The degradation ladder's fallback (served name and context), or None: no fallback model.
    fallback_model: str | None = None
    fallback_max_model_len: int = 4096


@dataclass(frozen=True)
class CatalogInputs:
    stack: str
    namespace: str
    serving_namespace: str
    monitoring_namespace: str
    otlp_endpoint: str
    models: Models
    data: DataConnections
    replicas: Mapping[ServiceName, Replicas]
    stream_drain_seconds: int
    retention_days: int
    log_level: str
    #: the address ranges the edge's proxies connect from (the cluster's pod ranges): the only peers whose
    #: X-Forwarded-For the gateway believes
    trusted_proxy_cidrs: tuple[str, ...]
    #: The static status page customers are sent to when no model answers (served by the edge).
    status_page_url: str | None = None


def service_url(namespace: str, name: ServiceName) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local:{HTTP_PORT}"


def _common_env(inputs: CatalogInputs, name: ServiceName, drain_seconds: int) -> dict[str, str]:
    return {
        "HELPLINE_ENVIRONMENT": "production",
        "HELPLINE_HOST": "0.0.0.0",  # noqa: S104  (a pod is reached on its own address)
        "HELPLINE_PORT": str(HTTP_PORT),
        "HELPLINE_LOG_LEVEL": inputs.log_level,
        "HELPLINE_LOG_MESSAGE_TEXT": "false",
        "HELPLINE_SHUTDOWN_GRACE_SECONDS": str(drain_seconds),
        "OTEL_EXPORTER_OTLP_ENDPOINT": inputs.otlp_endpoint,
        "OTEL_SERVICE_NAME": name,
        "HOME": "/tmp",  # noqa: S108  (the writable emptyDir; the root filesystem is read-only)
    }


def admission_capacity(engine_sequences: int, gateway: Replicas) -> int:
    """``HELPLINE_ADMISSION_CAPACITY``: one gateway process's share of the chat engines' peak batch.

    The setting is the *ceiling* of each process's adaptive limit (app/gateway/engine_admission.py): a limit above
    what the engines serve within the TTFT SLO is cut by a fifth per mean turn from the first tokens customers get,
    while one below it is never raised. So the engines' peak (chat maxReplicas x maxNumSeqs) is split over the
    gateway's *fewest* replicas (the HPA's floor): at the floor the gateways together admit exactly what the engines
    can batch, so their queue (KEDA's scale-up signal) can fill. Splitting over the most replicas instead would shed
    turns the engines could serve whenever the gateway runs below its ceiling, and neither autoscaler would notice
    (no engine queue, little gateway CPU). The price: a gateway scaled above its floor admits up to max/min times
    the engines' peak until the adaptive limit trims it (vLLM queues meanwhile; it does not fail).
    """
    return max(1, engine_sequences // gateway.minimum)


def _ladder_env(inputs: CatalogInputs) -> dict[str, str]:
    """Chat's degradation ladder: on in every stack, its thresholds from the TTFT SLO the alerts use."""
    models = inputs.models
    env = {
        "HELPLINE_DEGRADATION_LADDER": "true",
        "HELPLINE_DEGRADATION_TTFT_SLO_SECONDS": f"{TTFT_SLO_SECONDS:g}",
        "HELPLINE_FALLBACK_MODEL": models.fallback_model or "",
        "HELPLINE_FALLBACK_MAX_MODEL_LEN": str(models.fallback_max_model_len),
    }
    if inputs.status_page_url is not None:
        env["HELPLINE_STATUS_PAGE_URL"] = inputs.status_page_url
    return env


def service_specs(inputs: CatalogInputs) -> dict[ServiceName, ServiceSpec]:
    """Every service, from the stack's config and what the data, serving and monitoring stages provide."""
    ns = inputs.namespace
    traces = allow_to([peer(inputs.monitoring_namespace, COLLECTOR_POD)], [OTLP_HTTP_PORT])
    router = allow_to([peer(inputs.serving_namespace, ROUTER_SELECTOR)], [ROUTER_PORT])
    redis = inputs.data.redis
    database = inputs.data.databases
    gateway = app_service(ns, "gateway")

    def spec(
        name: ServiceName,
        *,
        env: Mapping[str, str],
        secrets: Mapping[str, SecretKeyRef],
        callers: list[dict[str, Any]] | None,
        egress: list[dict[str, Any]],
        drain_seconds: int = REQUEST_DRAIN_SECONDS,
        labels: Mapping[str, str] | None = None,
    ) -> ServiceSpec:
        stores: list[StoreAccess] = [database[name]] if name in DATABASE_SERVICES else []
        stores += [redis] if name in REDIS_SERVICES else []
        access_labels = {
            **(POSTGRES_CLIENT if name in DATABASE_SERVICES else {}),
            **(REDIS_CLIENT if name in REDIS_SERVICES else {}),
            **(labels or {}),
        }
        return ServiceSpec(
            name=name,
            component=COMPONENTS[name],
            module=f"app.{name}",
            env={**_common_env(inputs, name, drain_seconds), **env},
            secrets={"HELPLINE_INTERNAL_TOKEN_SECRET": INTERNAL_TOKEN, **secrets},
            resources=RESOURCES[name],
            replicas=inputs.replicas[name],
            callers=callers,
            egress=[*egress, traces],
            migrates=name in DATABASE_SERVICES,
            drain_seconds=drain_seconds,
            ca_bundles=[store.ca for store in stores if store.ca is not None],
            access_labels=access_labels,
        )

    return {
        "gateway": spec(
            "gateway",
            env={
                "HELPLINE_AUTH_URL": service_url(ns, "auth"),
                "HELPLINE_SESSIONS_URL": service_url(ns, "sessions"),
                "HELPLINE_CHAT_URL": service_url(ns, "chat"),
                # Envoy's X-Forwarded-For counts, from the pod ranges only: the NetworkPolicy admits only Envoy, and
                # should it ever be missing (a CNI that does not enforce it), a peer outside the cluster still cannot
                # choose the address its rate limits and login throttle are keyed on.
                "HELPLINE_FORWARDED_ALLOW_IPS": ",".join(inputs.trusted_proxy_cidrs),
                "HELPLINE_ADMISSION_CAPACITY": str(
                    admission_capacity(inputs.models.chat_peak_sequences, inputs.replicas["gateway"])
                ),
            },
            secrets={"HELPLINE_REDIS_URL": redis.url},
            # The edge's ingress is the platform's policy (allow-edge-to-gateway): not repeated here.
            callers=None,
            egress=[calls(ns, "auth", "sessions", "chat"), redis.location.egress()],
            drain_seconds=inputs.stream_drain_seconds,
        ),
        "auth": spec(
            "auth",
            env=DATABASE_POOL,
            secrets={
                "HELPLINE_DATABASE_URL": database["auth"].url,
                "HELPLINE_REDIS_URL": redis.url,
                "HELPLINE_JWT_PRIVATE_KEY": SIGNING_KEY,
            },
            callers=[gateway],
            egress=[database["auth"].location.egress(), redis.location.egress()],
        ),
        "sessions": spec(
            "sessions",
            env={**DATABASE_POOL, "HELPLINE_RETENTION_DAYS": str(inputs.retention_days)},
            # the lifecycle events: the outbox relay publishes to NATS, the dispatcher POSTs tenants' webhooks
            secrets={"HELPLINE_DATABASE_URL": database["sessions"].url, "HELPLINE_EVENTS_NATS_URL": nats.CLIENT_SECRET},
            callers=[gateway, app_service(ns, "chat")],
            egress=[
                database["sessions"].location.egress(),
                allow_to([peer(ns, nats.NATS_POD)], [nats.CLIENT_PORT]),
                WEBHOOK_EGRESS,
            ],
            labels=nats.NATS_CLIENT,
        ),
        "chat": spec(
            "chat",
            env={
                **DATABASE_POOL,
                "HELPLINE_SESSIONS_URL": service_url(ns, "sessions"),
                "HELPLINE_ENGINE_URL": inputs.models.engine_url,
                "HELPLINE_CHAT_MODEL": inputs.models.chat_model,
                "HELPLINE_CLASSIFIER_MODEL": inputs.models.classifier_model,
                "HELPLINE_MAX_MODEL_LEN": str(inputs.models.chat_max_model_len),
                **_ladder_env(inputs),
            },
            secrets={
                "HELPLINE_DATABASE_URL": database["chat"].url,
                "HELPLINE_ENGINE_API_KEY": ENGINE_API_KEY,
                "HELPLINE_PII_VAULT_KEY": PII_VAULT_KEY,
            },
            callers=[gateway],
            egress=[calls(ns, "sessions"), router, database["chat"].location.egress()],
            drain_seconds=inputs.stream_drain_seconds,
        ),
    }
