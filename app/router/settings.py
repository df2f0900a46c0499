"""The router's settings: which replicas serve which model (``ROUTER_BACKENDS``) and how to treat them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, field_validator

from app.core.settings import ServiceSettings
from app.router.kubernetes import SERVICE_ACCOUNT_DIR

#: A DNS-1123 label: what a Kubernetes namespace or Service name may be.
KubernetesName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
BackendUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubernetesService(_Strict):
    namespace: KubernetesName
    service: KubernetesName = Field(description="The (headless) Service whose EndpointSlices list the replicas.")
    port: int = Field(ge=1, le=65535, description="The engine's container port on each replica.")


class KubernetesBackends(_Strict):
    """Replicas discovered by watching a Service's EndpointSlices (in a cluster)."""

    kubernetes: KubernetesService


class StaticBackends(_Strict):
    """A fixed list of replica base URLs (local runs and tests); health checks still eject dead ones."""

    static: list[BackendUrl] = Field(min_length=1)


def _source_kind(value: Any) -> str:
    """Which backend source a ROUTER_BACKENDS entry is, by its one key (errors then name only that variant)."""
    if isinstance(value, dict):
        return next((kind for kind in ("kubernetes", "static") if kind in value), "unknown")
    return "kubernetes" if isinstance(value, KubernetesBackends) else "static"


BackendSource = Annotated[
    Annotated[KubernetesBackends, Tag("kubernetes")] | Annotated[StaticBackends, Tag("static")],
    Discriminator(_source_kind, custom_error_message='expected {"kubernetes": {...}} or {"static": [...]}'),
]


class RouterSettings(ServiceSettings):
    """The router's settings. It neither mints nor verifies identity tokens (it forwards the engine's API key),
    so the internal token secret is not required of it in production."""

    service_name: ClassVar[str] = "router"

    # Defaults as plain values with constraints in Annotated: pyright sees them as optional in __init__.
    host: Annotated[str, Field(description="Interface to listen on; `make run` passes --host 127.0.0.1.")] = "0.0.0.0"  # noqa: S104  (like vLLM: a pod is reached on its IP; the Deployment passes only --port)
    backends: Annotated[
        dict[str, BackendSource],
        Field(
            validate_default=True,  # required in effect: an unset ROUTER_BACKENDS fails validation by name
            validation_alias="ROUTER_BACKENDS",
            description='JSON: served model name -> {"kubernetes": {namespace, service, port}} or {"static": [urls]}.',
        ),
    ] = {}  # noqa: RUF012  (pydantic copies defaults per instance)
    health_check_interval_seconds: Annotated[
        float, Field(gt=0, description="How often every replica's /health is probed (a failure ejects it at once).")
    ] = 5.0
    ejected_check_interval_seconds: Annotated[
        float,
        Field(gt=0, description="How often an ejected replica is probed, so a recovered one is back within a second."),
    ] = 1.0
    health_check_timeout_seconds: Annotated[float, Field(gt=0)] = 2.0
    connect_timeout_seconds: Annotated[
        float, Field(gt=0, description="Connecting to a replica; beyond it the request moves to the next replica.")
    ] = 2.0
    read_timeout_seconds: Annotated[
        float,
        Field(
            gt=0,
            description="Longest silence from a replica (a non-streamed answer is silent until complete). A "
            "backstop: callers enforce their own first-token and total deadlines and disconnect earlier.",
        ),
    ] = 600.0
    stream_flush_interval_ms: Annotated[
        float,
        Field(
            ge=0,
            le=1000,
            description="Once an answer's text has begun, streamed bytes go on at most this often (one write per "
            "interval instead of one per token, for every hop behind the router); the first token is never held. "
            "0 relays every chunk as it arrives.",
        ),
    ] = 50.0
    max_attempts: Annotated[int, Field(ge=1, le=10, description="Replicas tried per request before giving up.")] = 3
    affinity_balance_factor: Annotated[
        float,
        Field(
            description="A session leaves its preferred replica only when that replica carries more than this many "
            "times its fair share of the requests in flight; 0 disables the bound (pure session hashing).",
        ),
    ] = 1.5
    max_body_bytes: Annotated[int, Field(ge=1024, description="Largest request body accepted (413 above).")] = (
        4 * 1024 * 1024
    )
    max_connections: Annotated[int, Field(ge=1, description="Connections to all replicas together.")] = 1024
    kubernetes_service_account_dir: Annotated[
        Path, Field(description="Where the pod's service-account token and cluster CA are mounted.")
    ] = SERVICE_ACCOUNT_DIR

    @field_validator("backends")
    @classmethod
    def _backends_are_given(cls, value: dict[str, BackendSource]) -> dict[str, BackendSource]:
        if not value:
            raise ValueError("ROUTER_BACKENDS must name at least one model (JSON: model -> backend source)")
        return value

    @field_validator("affinity_balance_factor")
    @classmethod
    def _factor_is_off_or_a_share(cls, value: float) -> float:
        if value != 0 and value < 1:
            raise ValueError("must be 0 (no load bound) or at least 1 (a replica's fair share)")
        return value

    def _secret_values(self) -> dict[str, str]:
        return {name: value for name, value in super()._secret_values().items() if name != "internal_token_secret"}
