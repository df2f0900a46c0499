"""The typed spec every Helpline service is deployed from: one shape, four instances (see ``catalog``).

A service is a name, a command, settings (plain values and Secret references), resources, a replica range, whom it
accepts calls from and what it calls. Everything the Kubernetes objects need follows from that, in ``workload``
(pure builders) and ``component`` (their declaration), so no object is written twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.data.endpoints import CaBundle, SecretKeyRef

ServiceName = Literal["gateway", "auth", "sessions", "chat"]
SERVICE_NAMES: tuple[ServiceName, ...] = ("gateway", "auth", "sessions", "chat")
#: Every Helpline process listens here, in the pod and on its Service (port name ``http``: probes, metrics).
HTTP_PORT = 8080
PORT_NAME = "http"


@dataclass(frozen=True)
class Resources:
    """Requests and limits of the service's container; no CPU limit would let one pod starve its node."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Replicas:
    """The HPA's range and CPU target; the Deployment leaves ``replicas`` to it."""

    minimum: int
    maximum: int
    cpu_target_percent: int

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.maximum:
            raise ValueError(f"replicas must satisfy 1 <= minimum ({self.minimum}) <= maximum ({self.maximum})")


@dataclass(frozen=True)
class ServiceSpec:
    """One service, as deployed."""

    name: ServiceName
    #: ``app.kubernetes.io/component``: what the service is for
    component: str
    #: the container's arguments after ``python -m app.<name>`` (``serve`` is the default command)
    module: str
    #: plain settings (``HELPLINE_*``, ``OTEL_*``), in the pod spec
    env: Mapping[str, str]
    #: secret settings: variable -> Secret key, mounted as a file of that name (``workload.secrets_volume``)
    secrets: Mapping[str, SecretKeyRef]
    resources: Resources
    replicas: Replicas
    #: NetworkPolicy peers allowed to call the service on its HTTP port (None: the policy does not restrict ingress)
    callers: Sequence[Mapping[str, Any]] | None
    #: NetworkPolicy egress rules: everything the service calls (DNS comes from the platform)
    egress: Sequence[Mapping[str, Any]]
    #: the service owns a schema: a migration Job runs ``python -m app.<name> migrate`` before each rollout
    migrates: bool
    #: seconds SIGTERM lets open requests and streams finish (``HELPLINE_SHUTDOWN_GRACE_SECONDS``)
    drain_seconds: int
    ca_bundles: Sequence[CaBundle] = ()
    #: labels that admit the pods to what they need beyond the app namespace (the data tier's client labels)
    access_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def command(self) -> list[str]:
        return ["python", "-m", self.module]

    @property
    def migration_command(self) -> list[str]:
        return [*self.command, "migrate"]

    @property
    def migration_name(self) -> str:
        """The migration Job's pods' name label (never the service's own: its Service must not select them)."""
        return f"{self.name}-migrate"
