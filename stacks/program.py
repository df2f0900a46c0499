"""The composition: config -> cluster -> platform -> data -> serving -> services, then the stack outputs.

Run by ``pulumi up`` (through ``__main__.py``) and by the offline render; both call ``main``.
"""

from __future__ import annotations

import pulumi

from infra.aws.cluster import EksGpuCluster, EksGpuClusterArgs
from infra.cluster import ClusterInterface, ServiceAccountRef
from infra.data.component import DataTier, DataTierArgs
from infra.gcp.cluster import GkeGpuCluster, GkeGpuClusterArgs
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from infra.platform.monitoring import Monitoring, MonitoringArgs, Receiver, receiver_urls
from infra.platform.platform import Platform, PlatformArgs
from infra.services.catalog import DATABASE_SERVICES, Models
from infra.services.component import Services, ServicesArgs
from infra.services.stack_outputs import stack_outputs
from infra.serving import PrometheusRef, Serving, ServingArgs
from stacks.config import StackConfig, load_stack_config
from stacks.config.secrets import optional_secret

#: Alertmanager receiver -> the optional secret config key holding its webhook URL.
ALERT_WEBHOOK_KEYS: dict[Receiver, str] = {"pager": "alertPagerWebhookUrl", "chat": "alertChatWebhookUrl"}


def provision_cluster(config: StackConfig, naming: Naming) -> ClusterInterface:
    """The GPU cluster on the configured cloud; the model bucket is readable by the serving model loader only."""
    model_reader = ServiceAccountRef(naming.namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT)
    if config.cloud == "aws":
        args = EksGpuClusterArgs.from_config(config.cluster, naming, model_reader)
        return EksGpuCluster(naming.resource("cluster"), args).interface
    args = GkeGpuClusterArgs.from_config(config.cluster, naming, model_reader)
    return GkeGpuCluster(naming.resource("cluster"), args).interface


def provision_monitoring(
    config: StackConfig, naming: Naming, cluster: ClusterInterface, platform: Platform
) -> Monitoring:
    """Prometheus, Alertmanager, Grafana, logs and traces, in the monitoring namespace the platform made."""
    webhooks: dict[Receiver, pulumi.Output[str] | None] = {
        receiver: optional_secret(key) for receiver, key in ALERT_WEBHOOK_KEYS.items()
    }
    args = MonitoringArgs.from_config(
        cluster=config.cluster,
        platform=config.platform,
        naming=naming,
        interface=cluster,
        dcgm=platform.dcgm,
        api_server_cidrs=platform.addresses.api_server_cidrs,
        receivers=receiver_urls(webhooks),
    )
    return Monitoring("monitoring", args, webhooks, after=[platform.namespaces["monitoring"]])


def provision_serving(
    config: StackConfig, naming: Naming, cluster: ClusterInterface, platform: Platform, monitoring: Monitoring
) -> Serving:
    """vLLM (or the simulator) per served model, the session-affine router, KEDA, scaling on Prometheus."""
    monitoring_namespace = naming.namespace("monitoring")
    args = ServingArgs(
        spec=config.serving.spec(config.cluster, config.services.app_image),
        cluster=cluster,
        naming=naming,
        prometheus=PrometheusRef(url=monitoring.prometheus_url, namespace=monitoring_namespace),
        hf_token=optional_secret("hfToken"),
        depends_on=[platform.namespaces["serving"]],
    )
    return Serving("serving", args)


def provision_data(
    config: StackConfig, naming: Naming, cluster: ClusterInterface, platform: Platform, monitoring: Monitoring
) -> DataTier:
    """Postgres and Redis (in the cluster in dev, managed in prod), a role per service, the connection Secrets."""
    args = DataTierArgs.from_config(
        config,
        naming,
        cluster,
        database_services=DATABASE_SERVICES,
        api_server_cidrs=platform.addresses.api_server_cidrs,
    )
    after = [platform.namespaces["data"], platform.namespaces["app"]]
    return DataTier("data", args, cluster, after=after, monitoring=[monitoring])


def provision_services(
    config: StackConfig,
    naming: Naming,
    *,
    cluster: ClusterInterface,
    platform: Platform,
    monitoring: Monitoring,
    data: DataTier,
    serving: Serving,
) -> Services:
    """The four services behind the edge, calling the router (vLLM or the simulator alike) and their stores."""
    fallback = None if config.services.fallback_model == "none" else config.services.fallback_model
    models = Models(
        engine_url=serving.router_url,
        chat_model=serving.models["chat"].served_model_name,
        classifier_model=serving.models["classifier"].served_model_name,
        chat_max_model_len=config.serving.model("chat").max_model_len,
        chat_peak_sequences=config.serving.model("chat").peak_sequences,
        fallback_model=serving.models[fallback].served_model_name if fallback else None,
        fallback_max_model_len=config.serving.model(fallback or "chat").max_model_len,
    )
    args = ServicesArgs.from_config(
        config,
        naming,
        data=data.connections,
        models=models,
        otlp_endpoint=monitoring.otlp_endpoint,
        storage_class=cluster.block_storage_class,
    )
    return Services(
        "services",
        args,
        provider=cluster.provider,
        data=data.connections,
        engine_api_key=serving.api_key,
        edge=platform.edge,
        # Not after the serving stage: a migration or a rollout need not wait for model loads; chat's readiness
        # follows the engine at runtime.
        after=[platform.namespaces["app"]],
    )


def main() -> None:
    """Validate the whole config first: a bad value fails before any resource is declared."""
    config = load_stack_config()
    naming = Naming(config.stack)
    cluster = provision_cluster(config, naming)
    platform = Platform("platform", PlatformArgs.from_config(config.cluster, config.platform, naming, cluster), cluster)
    monitoring = provision_monitoring(config, naming, cluster, platform)
    data = provision_data(config, naming, cluster, platform, monitoring)
    serving = provision_serving(config, naming, cluster, platform, monitoring)
    services = provision_services(
        config, naming, cluster=cluster, platform=platform, monitoring=monitoring, data=data, serving=serving
    )
    outputs = stack_outputs(
        chat_api_url=services.url, grafana_service=monitoring.grafana_service, kubeconfig=cluster.kubeconfig
    )
    for name, value in outputs.items():
        pulumi.export(name, value)
