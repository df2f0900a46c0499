"""The monitoring stage: metrics, alerts and dashboards, logs and traces, in the monitoring namespace.

``MonitoringArgs.from_config`` turns the validated config into typed arguments; ``Monitoring`` installs
kube-prometheus-stack (Prometheus, Alertmanager, Grafana) with a generated Grafana admin password and the alert
receivers' webhook URLs in Secrets, then what needs its CRDs: the ServiceMonitors, the PrometheusRules, the dashboard
ConfigMaps, Loki with Alloy, and Tempo with the OpenTelemetry Collector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random

from infra.capacity.gpus import PRICES_AS_OF, gpu_profile
from infra.cluster import ClusterInterface
from infra.k8s.labels import KUBE_API_ACCESS, standard_labels
from infra.k8s.objects import secret
from infra.k8s.resources import declare
from infra.naming import Naming
from infra.platform.gpu import DcgmEndpoint
from infra.platform.helm import helm_release
from infra.platform.logging_pipeline import LogPipeline, LogPipelineArgs, loki_url
from infra.platform.monitoring_alertmanager import RECEIVERS_SECRET, Receiver, ReceiverUrls, secret_key
from infra.platform.monitoring_charts import KUBE_PROMETHEUS_STACK_CHART
from infra.platform.monitoring_dashboards import dashboard_config_maps
from infra.platform.monitoring_network import monitoring_policies
from infra.platform.monitoring_rules import CostInputs, prometheus_rules
from infra.platform.monitoring_targets import helpline_targets, platform_targets, service_monitor
from infra.platform.monitoring_values import (
    FULLNAME,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_ADMIN_USER,
    GRAFANA_SERVICE,
    MonitoringValuesArgs,
    kube_prometheus_stack_values,
)
from infra.platform.tracing import Tracing, TracingArgs, tempo_url
from stacks.config.cluster import ClusterConfig
from stacks.config.platform import PlatformConfig, retention_hours

RELEASE = "kube-prometheus-stack"


@dataclass(frozen=True)
class MonitoringArgs:
    stack: str
    namespace: str
    serving_namespace: str
    app_namespace: str
    #: where cert-manager runs (its metrics: certificate expiry)
    cert_manager_namespace: str
    #: namespaces whose logs are collected and whose pods may send traces
    workload_namespaces: Sequence[str]
    api_server_cidrs: Sequence[str]
    dcgm: DcgmEndpoint
    values: MonitoringValuesArgs
    logs: LogPipelineArgs
    traces: TracingArgs
    cost: CostInputs

    @classmethod
    def from_config(
        cls,
        *,
        cluster: ClusterConfig,
        platform: PlatformConfig,
        naming: Naming,
        interface: ClusterInterface,
        dcgm: DcgmEndpoint,
        api_server_cidrs: Sequence[str],
        receivers: ReceiverUrls,
    ) -> MonitoringArgs:
        namespace = naming.namespace("monitoring")
        workloads = [naming.namespace(concern) for concern in ("app", "serving", "data", "ingress", "platform")]
        replicas = 2 if cluster.is_prod else 1
        storage = interface.block_storage_class
        list_price = gpu_profile(cluster.gpu_type).hourly_price(cluster.cloud, cluster.gpu_capacity)
        return cls(
            stack=naming.stack,
            namespace=namespace,
            serving_namespace=naming.namespace("serving"),
            app_namespace=naming.namespace("app"),
            cert_manager_namespace=naming.namespace("ingress"),
            workload_namespaces=workloads,
            api_server_cidrs=list(api_server_cidrs),
            dcgm=dcgm,
            values=MonitoringValuesArgs(
                namespace=namespace,
                stack=naming.stack,
                storage_class=storage,
                prometheus_retention=platform.prometheus_retention,
                prometheus_storage_gi=platform.prometheus_storage_gi,
                prometheus_replicas=platform.prometheus_replicas,
                alertmanager_replicas=platform.alertmanager_replicas,
                receivers=receivers,
                loki_url=loki_url(namespace),
                tempo_url=tempo_url(namespace),
                kube_api_labels=KUBE_API_ACCESS,
                node_agents_namespace=naming.namespace("platform"),
            ),
            logs=LogPipelineArgs(
                namespace=namespace,
                collected_namespaces=[namespace, *workloads],
                storage_class=storage,
                storage_gi=platform.loki_storage_gi,
                retention_hours=retention_hours(platform.loki_retention),
                agent_replicas=replicas,
                kube_api_labels=KUBE_API_ACCESS,
            ),
            traces=TracingArgs(
                namespace=namespace,
                storage_class=storage,
                storage_gi=platform.tempo_storage_gi,
                retention_hours=retention_hours(platform.tempo_retention),
                collector_replicas=replicas,
                kube_api_labels=KUBE_API_ACCESS,
            ),
            cost=CostInputs(
                gpu_hour_price=platform.gpu_hour_price or list_price or 0.0,
                daily_budget=platform.gpu_daily_budget,
                cloud=cluster.cloud,
                gpu_type=cluster.gpu_type,
                capacity=cluster.gpu_capacity,
                price_source="config" if platform.gpu_hour_price else f"list price {PRICES_AS_OF}",
            ),
        )


def receiver_urls(webhooks: Mapping[Receiver, pulumi.Output[str] | None]) -> ReceiverUrls:
    return ReceiverUrls(pager=webhooks.get("pager") is not None, chat=webhooks.get("chat") is not None)


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack first (it brings the CRDs), then everything that is one of its custom resources."""

    grafana_service: str
    prometheus_service: str
    #: where PromQL queries go from inside the cluster (KEDA's Prometheus scaler)
    prometheus_url: str
    alertmanager_service: str
    otlp_endpoint: str
    grafana_admin_secret: str

    def __init__(
        self,
        name: str,
        args: MonitoringArgs,
        webhooks: Mapping[Receiver, pulumi.Output[str] | None],
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``webhooks``: the receivers' URLs as secret Outputs (None: not configured). ``after``: the namespace."""
        super().__init__("helpline:platform:Monitoring", name, None, opts)
        labels = standard_labels("monitoring", "observability", args.stack)
        inside = pulumi.ResourceOptions(parent=self, depends_on=list(after))

        for policy in monitoring_policies(args.namespace, args.workload_namespaces, args.api_server_cidrs, labels):
            declare(policy, inside)

        secrets = [self._grafana_admin(args.namespace, labels, inside)]
        configured: dict[Receiver, pulumi.Output[str]] = {
            receiver: url for receiver, url in webhooks.items() if url is not None
        }
        if configured:
            secrets.append(self._receivers_secret(args.namespace, labels, configured, inside))

        stack_release = helm_release(
            RELEASE,
            KUBE_PROMETHEUS_STACK_CHART,
            args.namespace,
            kube_prometheus_stack_values(args.values),
            pulumi.ResourceOptions(parent=self, depends_on=[*after, *secrets]),
        )
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[*after, stack_release])
        targets = [
            *helpline_targets(args.serving_namespace, args.app_namespace),
            *platform_targets(args.dcgm, args.cert_manager_namespace),
        ]
        for target in targets:
            declare(service_monitor(target, args.namespace, labels), after_crds)
        for rule in prometheus_rules(args.namespace, labels, args.cost):
            declare(rule, after_crds)
        for config_map in dashboard_config_maps(args.namespace, labels):
            declare(config_map, inside)

        logs = LogPipeline("logs", args.logs, after=[*after, stack_release], opts=pulumi.ResourceOptions(parent=self))
        traces = Tracing("traces", args.traces, after=[*after, stack_release], opts=pulumi.ResourceOptions(parent=self))

        self.grafana_service = f"{args.namespace}/{GRAFANA_SERVICE}"
        self.prometheus_service = f"{args.namespace}/{FULLNAME}-prometheus"
        self.prometheus_url = f"http://{FULLNAME}-prometheus.{args.namespace}.svc:9090"
        self.alertmanager_service = f"{args.namespace}/{FULLNAME}-alertmanager"
        self.otlp_endpoint = traces.otlp_endpoint
        self.grafana_admin_secret = f"{args.namespace}/{GRAFANA_ADMIN_SECRET}"
        self.register_outputs(
            {
                "grafana": self.grafana_service,
                "prometheus": self.prometheus_service,
                "alertmanager": self.alertmanager_service,
                "otlpEndpoint": self.otlp_endpoint,
                "loki": logs.url,
            }
        )

    def _grafana_admin(
        self, namespace: str, labels: Mapping[str, str], opts: pulumi.ResourceOptions
    ) -> pulumi.Resource:
        """A generated password, only ever in this Secret (and Pulumi's encrypted state)."""
        password = random.RandomPassword(
            "grafana-admin-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        credentials = {"admin-user": GRAFANA_ADMIN_USER, "admin-password": password.result}
        return declare(secret(GRAFANA_ADMIN_SECRET, namespace, labels, credentials), opts)

    def _receivers_secret(
        self,
        namespace: str,
        labels: Mapping[str, str],
        urls: Mapping[Receiver, pulumi.Output[str]],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Resource:
        """The webhook URLs Alertmanager reads through ``url_file``."""
        files = {secret_key(receiver): pulumi.Output.secret(url) for receiver, url in urls.items()}
        return declare(secret(RECEIVERS_SECRET, namespace, labels, files), opts)
