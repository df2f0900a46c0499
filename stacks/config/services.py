"""The chat microservices on Kubernetes: the image, replicas per service, draining, retention (infra/services).

Each service's replica range is a pair of flat keys named after it (``gatewayServiceMinReplicas``, ...; "Service"
keeps ``chat`` apart from the serving section's chat *model* keys), declared once in ``_replica_keys`` and stamped
out per service, like the serving section's per-model keys.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import create_model, field_validator
from pydantic.fields import FieldInfo

from infra.services.spec import SERVICE_NAMES, Replicas, ServiceName
from stacks.config.base import ConfigIssue, ConfigSection, key
from stacks.config.cluster import ClusterConfig

DIGEST_PINNED = re.compile(r"^[a-z0-9.\-/:]+@sha256:[0-9a-f]{64}$")
PROD_MIN_REPLICAS = 2
#: Replica ranges of the project defaults: two of everything (a pod or node loss costs no capacity), up to six.
DEFAULT_MIN_REPLICAS = 2
DEFAULT_MAX_REPLICAS = 6


def _replica_keys(service: ServiceName) -> dict[str, Any]:
    def field(suffix: str, description: str, default: int) -> tuple[str, tuple[type[int], FieldInfo]]:
        return f"{service}_{suffix.lower()}_replicas", (
            int,
            key(f"{service}Service{suffix}Replicas", f"{service} service: {description}", default, ge=1, le=100),
        )

    return dict(
        [
            field("Min", "fewest replicas (the HPA's floor); prod needs at least 2.", DEFAULT_MIN_REPLICAS),
            field("Max", "most replicas the HPA may run.", DEFAULT_MAX_REPLICAS),
        ]
    )


#: The committed default: an example digest no build produced. Prod refuses it (stacks/config/placeholders.py).
EXAMPLE_APP_IMAGE = (
    "ghcr.io/helpline-dev/helpline@sha256:8f3c2b1a5d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607182"
)


class _ServicesKeys(ConfigSection):
    """Keys shared by every service."""

    app_image: str = key(
        "appImage",
        "The Helpline services image (gateway, auth, sessions, chat, router, engine simulator), pinned by digest "
        "(repository@sha256:...). The deploy workflow passes the digest it just pushed to `pulumi up` for that run "
        "only; a manual `pulumi up` must pass the deployed digest (--config helpline:appImage=...) or it rolls the "
        "services back to this value (docs/delivery.md).",
        EXAMPLE_APP_IMAGE,
    )
    services_cpu_target_percent: int = key(
        "servicesCpuTargetPercent", "Average CPU utilization every service's HPA aims for.", 70, ge=10, le=95
    )
    stream_drain_seconds: int = key(
        "streamDrainSeconds",
        "How long a stopping gateway or chat pod lets open answer streams finish before it exits (the other "
        "services drain within 25 s). The default is chat's whole-answer deadline (engine_total_timeout_seconds), "
        "so a rollout cuts no answer short; no stream outlives the edge's streamTimeoutSeconds anyway.",
        180,
        ge=10,
        le=3600,
    )
    conversation_retention_days: int = key(
        "conversationRetentionDays",
        "Closed and resolved conversations are deleted this many days after they end (sessions' retention job).",
        90,
        ge=1,
        le=3650,
    )
    services_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = key(
        "servicesLogLevel", "Log level of every service (JSON logs, never message text).", "INFO"
    )
    fallback_model: Literal["classifier", "none"] = key(
        "fallbackModel",
        "The deployed model that answers while the chat model is down (the degradation ladder's third level), "
        "each answer marked as such and offering a person: `classifier` (the small model the stack already "
        "serves for classification) or `none` (a chat model down is everything down: the customer's message "
        "is kept for a person and the status page is linked).",
        "classifier",
    )

    @field_validator("app_image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not DIGEST_PINNED.match(value):
            raise ValueError("must be pinned by digest: <registry>/<repository>@sha256:<64 hex digits>")
        return value


_ReplicaKeys = create_model(
    "_ReplicaKeys",
    __base__=_ServicesKeys,
    **{name: definition for service in SERVICE_NAMES for name, definition in _replica_keys(service).items()},
)


class ServicesConfig(_ReplicaKeys):
    """The services section: shared keys plus a replica range per service (see ``_replica_keys``)."""

    def replicas(self, service: ServiceName) -> Replicas:
        return Replicas(
            minimum=getattr(self, f"{service}_min_replicas"),
            maximum=getattr(self, f"{service}_max_replicas"),
            cpu_target_percent=self.services_cpu_target_percent,
        )

    def issues(self, cluster: ClusterConfig) -> list[ConfigIssue]:
        """Each range must be a range; prod keeps two of everything (a pod or node loss drops no traffic)."""
        found: list[ConfigIssue] = []
        for service in SERVICE_NAMES:
            minimum, maximum = getattr(self, f"{service}_min_replicas"), getattr(self, f"{service}_max_replicas")
            if maximum < minimum:
                found.append(
                    ConfigIssue(
                        f"{service}ServiceMaxReplicas", maximum, f"must be >= {service}ServiceMinReplicas ({minimum})"
                    )
                )
            if cluster.is_prod and minimum < PROD_MIN_REPLICAS:
                found.append(
                    ConfigIssue(f"{service}ServiceMinReplicas", minimum, f"prod needs at least {PROD_MIN_REPLICAS}")
                )
        return found
