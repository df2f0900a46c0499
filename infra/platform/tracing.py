"""Traces: an OpenTelemetry Collector receives OTLP from the services and exports to Tempo.

The services export with the standard SDK variables (app/core/tracing.py):
``OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector.<monitoring namespace>:4318`` (OTLP/HTTP; gRPC on 4317). The
collector, not each service, knows where traces go: it adds Kubernetes attributes (namespace, pod, deployment),
batches, limits its memory, and exports to Tempo over OTLP gRPC. Tempo runs monolithic on a block volume with
retention per stack; Grafana links a span to its logs (trace_id) and a log line to its trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.platform.helm import helm_release
from infra.platform.monitoring_charts import OTEL_COLLECTOR_CHART, TEMPO_CHART

TEMPO_RELEASE = "tempo"
COLLECTOR_RELEASE = "otel-collector"
TEMPO_QUERY_PORT = 3200
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318


def tempo_url(namespace: str) -> str:
    return f"http://{TEMPO_RELEASE}.{namespace}.svc:{TEMPO_QUERY_PORT}"


def otlp_endpoint(namespace: str) -> str:
    """What services set as ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP/HTTP)."""
    return f"http://{COLLECTOR_RELEASE}.{namespace}:{OTLP_HTTP_PORT}"


@dataclass(frozen=True)
class TracingArgs:
    namespace: str
    storage_class: str
    storage_gi: int
    retention_hours: int
    collector_replicas: int
    kube_api_labels: Mapping[str, str]


HEALTH_PORT = 13133
COLLECTOR_METRICS_PORT = 8888


def collector_config(tempo_namespace: str) -> dict[str, Any]:
    """The whole collector configuration: OTLP in, memory limit and batches, OTLP out to Tempo.

    Given as the chart's ``alternateConfig`` (not merged with the chart's defaults, which add Jaeger, Zipkin and a
    debug exporter we do not want); the ``kubernetesAttributes`` preset still adds ``k8sattributes`` to the pipeline.
    """
    return {
        "extensions": {"health_check": {"endpoint": f"${{env:MY_POD_IP}}:{HEALTH_PORT}"}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {"send_batch_size": 1024, "timeout": "5s"},
        },
        "exporters": {
            "otlp": {
                "endpoint": f"{TEMPO_RELEASE}.{tempo_namespace}.svc:{OTLP_GRPC_PORT}",
                "tls": {"insecure": True},  # in-namespace hop, admitted only from the collector by network policy
                "sending_queue": {"enabled": True, "queue_size": 5000},
                "retry_on_failure": {"enabled": True, "max_elapsed_time": "300s"},
            }
        },
        "service": {
            "extensions": ["health_check"],
            "telemetry": {
                "metrics": {
                    "readers": [
                        {
                            "pull": {
                                "exporter": {"prometheus": {"host": "${env:MY_POD_IP}", "port": COLLECTOR_METRICS_PORT}}
                            }
                        }
                    ]
                }
            },
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": ["otlp"]}
            },
        },
    }


def collector_values(args: TracingArgs) -> dict[str, Any]:
    """The collector as a Deployment (the k8s distribution: OTLP, k8sattributes, no contrib surface)."""
    return {
        "mode": "deployment",
        "fullnameOverride": COLLECTOR_RELEASE,
        "replicaCount": args.collector_replicas,
        "image": {"repository": "otel/opentelemetry-collector-k8s"},
        "command": {"name": "otelcol-k8s"},
        "presets": {"kubernetesAttributes": {"enabled": True}},
        "alternateConfig": collector_config(args.namespace),
        "ports": {
            "jaeger-compact": {"enabled": False},
            "jaeger-thrift": {"enabled": False},
            "jaeger-grpc": {"enabled": False},
            "zipkin": {"enabled": False},
            "metrics": {"enabled": True},
        },
        "service": {"type": "ClusterIP"},
        "podLabels": dict(args.kube_api_labels),  # k8sattributes watches pods through the API
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "serviceMonitor": {"enabled": True},
        "podDisruptionBudget": {"enabled": args.collector_replicas > 1, "minAvailable": 1},
    }


def tempo_values(args: TracingArgs) -> dict[str, Any]:
    """Monolithic Tempo with local block storage; OTLP receivers only (what the collector sends)."""
    return {
        "tempo": {
            "retention": f"{args.retention_hours}h",  # Go duration: Tempo knows no days
            "reportingEnabled": False,
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                        "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                    }
                }
            },
            "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
            # The chart leaves the container's context empty, which the monitoring namespace's `restricted`
            # enforcement refuses; Tempo writes only to its volume (/var/tempo), so the root filesystem is read-only.
            "securityContext": restricted_container_security_context(),
        },
        # The chart's pod context (UID 10001, non-root) plus the RuntimeDefault seccomp profile restricted requires.
        "securityContext": restricted_pod_security_context(),
        "persistence": {
            "enabled": True,
            "size": f"{args.storage_gi}Gi",
            "storageClassName": args.storage_class,
            "accessModes": ["ReadWriteOnce"],
        },
        "serviceMonitor": {"enabled": True},
    }


class Tracing(pulumi.ComponentResource):
    """Tempo, then the collector that feeds it."""

    otlp_endpoint: str
    query_url: str

    def __init__(
        self,
        name: str,
        args: TracingArgs,
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: the monitoring namespace and kube-prometheus-stack (ServiceMonitor CRD)."""
        super().__init__("helpline:platform:Tracing", name, None, opts)
        tempo = helm_release(
            TEMPO_RELEASE,
            TEMPO_CHART,
            args.namespace,
            tempo_values(args),
            pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )
        helm_release(
            COLLECTOR_RELEASE,
            OTEL_COLLECTOR_CHART,
            args.namespace,
            collector_values(args),
            pulumi.ResourceOptions(parent=self, depends_on=[*after, tempo]),
        )
        self.otlp_endpoint = otlp_endpoint(args.namespace)
        self.query_url = tempo_url(args.namespace)
        self.register_outputs({"otlpEndpoint": self.otlp_endpoint})
