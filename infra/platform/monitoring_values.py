"""kube-prometheus-stack's values: Prometheus, Alertmanager and Grafana as this stack runs them.

- Storage per stack: each Prometheus replica gets ``prometheusStorageGi`` on the cluster's encrypted block class and
  drops its oldest data at 85% of it (``retentionSize``) so a full disk never stops ingestion.
- Prometheus selects every ServiceMonitor and PrometheusRule in the cluster (the ``*NilUsesHelmValues: false``
  switches): other areas may add their own without a release label.
- Managed control planes (EKS, GKE) expose no etcd, scheduler, controller-manager or kube-proxy metrics: those
  scrapes and their rules are off, or they would alert forever.
- Nothing is public: ClusterIP Services, no Ingress; reach them with ``kubectl port-forward`` (docs/monitoring.md).
- Grafana's admin credentials come from a Secret the program generates; Grafana is stateless (dashboards and
  datasources are provisioned), so it needs no volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.platform.monitoring_alertmanager import RECEIVERS_SECRET, ReceiverUrls, alertmanager_config
from infra.platform.monitoring_catalog import KUBE_STATE_METRICS_POD_LABELS
from infra.platform.monitoring_dashboards import DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE, FOLDER_ANNOTATION

#: Names kube-prometheus-stack derives Services from: ``kps-prometheus``, ``kps-alertmanager``, and ``grafana``.
FULLNAME = "kps"
GRAFANA_SERVICE = "grafana"
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105  (a Secret's name)
GRAFANA_ADMIN_USER = "admin"
#: Fraction of the volume Prometheus may fill before dropping its oldest blocks.
RETENTION_SIZE_FRACTION = 0.85
ALERTMANAGER_STORAGE_GI = 2
PROMETHEUS_UID, LOKI_UID, TEMPO_UID = "prometheus", "loki", "tempo"


@dataclass(frozen=True)
class MonitoringValuesArgs:
    namespace: str
    stack: str
    storage_class: str
    prometheus_retention: str
    prometheus_storage_gi: int
    prometheus_replicas: int
    alertmanager_replicas: int
    receivers: ReceiverUrls
    loki_url: str
    tempo_url: str
    #: pod labels that open the Kubernetes API egress (the platform's network baseline)
    kube_api_labels: Mapping[str, str]
    #: the only namespace whose Pod Security admits host namespaces and hostPath (node-exporter needs both)
    node_agents_namespace: str


def _volume(storage_class: str, size_gi: int) -> dict[str, Any]:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size_gi}Gi"}},
            }
        }
    }


def _not_public() -> dict[str, Any]:
    return {"ingress": {"enabled": False}, "service": {"type": "ClusterIP"}}


def grafana_datasources(loki_url: str, tempo_url: str) -> list[dict[str, Any]]:
    """Loki and Tempo beside the chart's Prometheus, linked both ways on ``trace_id``."""
    loki = {
        "name": "Loki",
        "uid": LOKI_UID,
        "type": "loki",
        "access": "proxy",
        "url": loki_url,
        "editable": False,
        "jsonData": {
            "maxLines": 1000,
            # every JSON line carries "trace_id" (app/core/logging.py): a link from the line to its trace
            "derivedFields": [
                {
                    "name": "trace_id",
                    "matcherRegex": '"trace_id":\\s*"([0-9a-f]{32})"',
                    "url": "${__value.raw}",
                    "datasourceUid": TEMPO_UID,
                    "urlDisplayLabel": "View trace",
                }
            ],
        },
    }
    tempo = {
        "name": "Tempo",
        "uid": TEMPO_UID,
        "type": "tempo",
        "access": "proxy",
        "url": tempo_url,
        "editable": False,
        "jsonData": {
            # from a span to the logs of its service around that time, filtered to its trace id
            "tracesToLogsV2": {
                "datasourceUid": LOKI_UID,
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "filterByTraceID": True,
                "tags": [{"key": "service.name", "value": "service"}],
            },
            "lokiSearch": {"datasourceUid": LOKI_UID},
            "serviceMap": {"datasourceUid": PROMETHEUS_UID},
            "nodeGraph": {"enabled": True},
        },
    }
    return [loki, tempo]


def grafana_values(args: MonitoringValuesArgs) -> dict[str, Any]:
    return {
        "fullnameOverride": GRAFANA_SERVICE,
        **_not_public(),
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "persistence": {"enabled": False},
        "podLabels": dict(args.kube_api_labels),  # the sidecars watch ConfigMaps through the API
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": DASHBOARD_LABEL,
                "labelValue": DASHBOARD_LABEL_VALUE,
                "searchNamespace": args.namespace,
                "folderAnnotation": FOLDER_ANNOTATION,
                "provider": {"foldersFromFilesStructure": True, "allowUiUpdates": False},
            },
            "datasources": {
                "uid": PROMETHEUS_UID,
                # exemplars on latency histograms open the trace that produced them
                "exemplarTraceIdDestinations": {"datasourceUid": TEMPO_UID, "traceIdLabelName": "trace_id"},
            },
        },
        "additionalDataSources": grafana_datasources(args.loki_url, args.tempo_url),
        "grafana.ini": {
            "analytics": {"reporting_enabled": False, "check_for_updates": False, "check_for_plugin_updates": False},
            "auth.anonymous": {"enabled": False},
            "users": {"allow_sign_up": False},
            "security": {"disable_gravatar": True, "cookie_samesite": "strict"},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        # The chart's `helm test` pod runs as root with no security context: restricted rejects it, and `up` never
        # runs it anyway. Off, so the chart output holds only what is installed.
        "testFramework": {"enabled": False},
    }


#: The chart sets none for these: requests near their working set on a cluster of our size, a memory limit with
#: room to grow (kube-state-metrics and the operator grow with the objects they watch), no CPU limit (a throttled
#: exporter misses scrapes). Found by checkov on the chart output (tests/infra/test_chart_checkov.py).
CHART_COMPONENT_RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "kube-state-metrics": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    "prometheus-operator": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    "admission-jobs": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
    "node-exporter": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
}


def kube_prometheus_stack_values(args: MonitoringValuesArgs) -> dict[str, Any]:
    retention_size = int(args.prometheus_storage_gi * RETENTION_SIZE_FRACTION)
    return {
        "fullnameOverride": FULLNAME,
        "crds": {"enabled": True},
        "defaultRules": {
            "create": True,
            "rules": {
                "etcd": False,
                "kubeControllerManager": False,
                "kubeSchedulerAlerting": False,
                "kubeSchedulerRecording": False,
                "kubeProxy": False,
                "windows": False,
            },
            # replaced by infra/platform/alerts/kubernetes.rules.yaml (same name, our runbook)
            "disabled": {"KubePodCrashLooping": True},
        },
        "kubeEtcd": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "kube-state-metrics": {
            "metricLabelsAllowlist": [f"pods=[{','.join(KUBE_STATE_METRICS_POD_LABELS)}]"],
            "customLabels": dict(args.kube_api_labels),
            "resources": CHART_COMPONENT_RESOURCES["kube-state-metrics"],
        },
        "prometheusOperator": {
            "podLabels": dict(args.kube_api_labels),
            "resources": CHART_COMPONENT_RESOURCES["prometheus-operator"],
            # the admission webhook's certificate jobs (create and patch both read this key)
            "admissionWebhooks": {"patch": {"resources": CHART_COMPONENT_RESOURCES["admission-jobs"]}},
        },
        "alertmanager": {
            **_not_public(),
            "config": alertmanager_config(args.receivers),
            "alertmanagerSpec": {
                "replicas": args.alertmanager_replicas,
                "secrets": [RECEIVERS_SECRET] if args.receivers.configured() else [],
                "storage": _volume(args.storage_class, ALERTMANAGER_STORAGE_GI),
                "retention": "120h",
                "podAntiAffinity": "soft",
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            },
        },
        "grafana": grafana_values(args),
        "prometheus": {
            **_not_public(),
            "prometheusSpec": {
                "replicas": args.prometheus_replicas,
                "retention": args.prometheus_retention,
                "retentionSize": f"{retention_size}GB",  # Prometheus' GB are GiB
                "storageSpec": _volume(args.storage_class, args.prometheus_storage_gi),
                "externalLabels": {"stack": args.stack},
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "enableFeatures": ["exemplar-storage"],
                "podMetadata": {"labels": dict(args.kube_api_labels)},  # service discovery
                "podAntiAffinity": "soft",
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "6Gi"}},
            },
        },
        "nodeExporter": {"enabled": True},
        # node-exporter reads the host (hostPID, hostNetwork, hostPath /proc,/sys): the restricted monitoring
        # namespace refuses it, so it runs with the other node agents; Prometheus scrapes it there.
        "prometheus-node-exporter": {
            "namespaceOverride": args.node_agents_namespace,
            "resources": CHART_COMPONENT_RESOURCES["node-exporter"],
        },
        "windowsMonitoring": {"enabled": False},
    }
