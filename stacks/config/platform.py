"""Cluster platform: namespaces, ingress and TLS, GPU plumbing, monitoring, logs and traces (infra/platform)."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import field_validator

from stacks.config.base import ConfigIssue, ConfigSection, key
from stacks.config.cluster import ClusterConfig

#: A DNS name of at least two labels (RFC 1123), as a Gateway listener hostname and a certificate name accept.
HOSTNAME_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Retention as whole hours, days or weeks: the subset every store we run (Prometheus, Loki, Tempo) agrees on.
RETENTION_PATTERN = re.compile(r"^([1-9][0-9]*)([hdw])$")
_HOURS_PER_UNIT = {"h": 1, "d": 24, "w": 24 * 7}
#: The SLO error budget is computed over this window (infra/platform/alerts), so prod must keep at least this much.
SLO_WINDOW_HOURS = 30 * 24


def retention_hours(value: str) -> int:
    """``"7d"`` -> 168. Tempo only understands Go durations (no days), so components convert through hours."""
    match = RETENTION_PATTERN.match(value)
    if match is None:
        raise ValueError(f"retention {value!r} must look like 36h, 15d or 2w")
    return int(match.group(1)) * _HOURS_PER_UNIT[match.group(2)]


class PlatformConfig(ConfigSection):
    """Keys of this section; each declared with ``key(...)`` (see stacks.config.base)."""

    # --- edge: TLS ingress (infra/platform/edge.py, tls.py) ----------------------------------------------------
    chat_host: str = key(
        "chatHost",
        "Public hostname of the chat API and web chat: the Gateway listener's hostname and the TLS certificate's "
        "name. Point its DNS record at the edge load balancer.",
        "chat.helpline.example.com",
    )
    acme_email: str = key(
        "acmeEmail",
        "Contact address registered with Let's Encrypt (expiry and policy notices).",
        "platform@helpline.example.com",
    )
    acme_issuer: Literal["auto", "staging", "production"] = key(
        "acmeIssuer",
        "Let's Encrypt environment that signs the edge certificate. auto: staging in dev (untrusted, generous "
        "rate limits), production in prod. Prod refuses staging.",
        "auto",
    )
    request_body_limit_kib: int = key(
        "requestBodyLimitKib",
        "Largest request body the edge accepts, KiB; bigger requests get 413 before reaching the gateway.",
        1024,
        ge=16,
        le=65536,
    )
    stream_timeout_seconds: int = key(
        "streamTimeoutSeconds",
        "Longest a single request (a whole SSE stream) may last at the edge before it is cut.",
        600,
        ge=30,
        le=3600,
    )
    edge_replicas: int = key(
        "edgeReplicas",
        "Envoy proxy replicas behind the load balancer (the floor of its autoscaler); prod needs at least 2.",
        2,
        ge=1,
        le=20,
    )
    kubernetes_api_cidrs: list[str] = key(
        "kubernetesApiCidrs",
        "Where the Kubernetes API server's endpoints live, for the egress/webhook NetworkPolicies. Empty: derived "
        "(the VPC CIDR on aws, gcpMasterCidr on gcp).",
        [],
    )
    # --- namespace quotas (infra/platform/quotas.py): requests summed over the namespace -------------------------
    app_quota_cpu: int = key("appQuotaCpu", "CPU cores the app namespace may request.", 8, ge=1)
    app_quota_memory_gi: int = key("appQuotaMemoryGi", "Memory (GiB) the app namespace may request.", 16, ge=1)
    serving_quota_cpu: int = key("servingQuotaCpu", "CPU cores the serving namespace may request.", 16, ge=1)
    serving_quota_memory_gi: int = key(
        "servingQuotaMemoryGi",
        "Memory (GiB) the serving namespace may request (vLLM holds its KV cache in host RAM too).",
        128,
        ge=1,
    )
    data_quota_cpu: int = key("dataQuotaCpu", "CPU cores the data namespace may request.", 4, ge=1)
    data_quota_memory_gi: int = key("dataQuotaMemoryGi", "Memory (GiB) the data namespace may request.", 16, ge=1)
    monitoring_quota_cpu: int = key("monitoringQuotaCpu", "CPU cores the monitoring namespace may request.", 8, ge=1)
    monitoring_quota_memory_gi: int = key(
        "monitoringQuotaMemoryGi", "Memory (GiB) the monitoring namespace may request.", 32, ge=1
    )
    ingress_quota_cpu: int = key("ingressQuotaCpu", "CPU cores the ingress namespace may request.", 4, ge=1)
    ingress_quota_memory_gi: int = key(
        "ingressQuotaMemoryGi", "Memory (GiB) the ingress namespace may request.", 8, ge=1
    )
    platform_quota_cpu: int = key(
        "platformQuotaCpu", "CPU cores the platform namespace (per-node agents) may request.", 4, ge=1
    )
    platform_quota_memory_gi: int = key(
        "platformQuotaMemoryGi", "Memory (GiB) the platform namespace (per-node agents) may request.", 8, ge=1
    )

    # --- monitoring, logs and traces (infra/platform/monitoring*.py, logging*.py, tracing*.py) -------------------
    # Defaults satisfy the prod rules (HA, 30 days for the SLO window); dev opts into one cheap replica each.
    prometheus_retention: str = key(
        "prometheusRetention",
        "How long Prometheus keeps samples (36h, 15d, 2w). SLO error budgets are computed over 30 days, so prod "
        "keeps at least 30d.",
        "30d",
    )
    prometheus_storage_gi: int = key(
        "prometheusStorageGi",
        "Volume per Prometheus replica, GiB, on the cluster's encrypted block storage class. Prometheus also drops "
        "the oldest data at 85% of it, so a full volume never stops ingestion.",
        100,
        ge=10,
        le=4096,
    )
    prometheus_replicas: int = key(
        "prometheusReplicas",
        "Prometheus replicas; each scrapes every target, so one can restart without a gap (prod needs 2).",
        2,
        ge=1,
        le=3,
    )
    alertmanager_replicas: int = key(
        "alertmanagerReplicas",
        "Alertmanager replicas, clustered so silences and notifications survive a pod loss (prod needs 2, 3 "
        "recommended).",
        2,
        ge=1,
        le=5,
    )
    loki_retention: str = key("lokiRetention", "How long Loki keeps logs (36h, 15d, 2w).", "7d")
    loki_storage_gi: int = key("lokiStorageGi", "Loki's volume, GiB (chunks and index).", 50, ge=5, le=4096)
    tempo_retention: str = key("tempoRetention", "How long Tempo keeps traces (36h, 15d, 2w).", "3d")
    tempo_storage_gi: int = key("tempoStorageGi", "Tempo's volume, GiB (trace blocks and WAL).", 20, ge=5, le=4096)
    gpu_hour_price: float = key(
        "gpuHourPrice",
        "USD per GPU-hour for the cost rules; 0 takes the dated list price of the cloud, gpuType and gpuCapacity "
        "(infra/capacity/gpus.py).",
        0.0,
        ge=0,
    )
    gpu_daily_budget: float = key(
        "gpuDailyBudget",
        "USD of GPU spend per 24 hours above which GpuDailySpendOverBudget fires; 0 sets no budget.",
        0.0,
        ge=0,
    )
    alert_pager_webhook_url: bool = key(
        "alertPagerWebhookUrl",
        "Webhook that pages the on-call (Alertmanager webhook format): receives severity=critical. Unset: critical "
        "alerts are only visible in Alertmanager.",
        False,
        secret=True,
    )
    alert_chat_webhook_url: bool = key(
        "alertChatWebhookUrl",
        "Webhook of the team chat (Alertmanager webhook format): receives severity=warning. Unset: warnings are "
        "only visible in Alertmanager.",
        False,
        secret=True,
    )

    @field_validator("chat_host")
    @classmethod
    def _hostname(cls, value: str) -> str:
        if not HOSTNAME_PATTERN.match(value):
            raise ValueError("must be a lower-case DNS name such as chat.example.com (no scheme, port or wildcard)")
        return value

    @field_validator("acme_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL_PATTERN.match(value):
            raise ValueError("must be an e-mail address such as platform@example.com")
        return value

    @field_validator("kubernetes_api_cidrs")
    @classmethod
    def _api_cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=True)
        return values

    @field_validator("prometheus_retention", "loki_retention", "tempo_retention")
    @classmethod
    def _retention(cls, value: str) -> str:
        retention_hours(value)
        return value

    def issues(self, cluster: ClusterConfig) -> list[ConfigIssue]:
        """Rules that span keys or depend on the environment profile (for example prod minimums)."""
        return self._edge_issues(cluster) + self._monitoring_issues(cluster)

    def _edge_issues(self, cluster: ClusterConfig) -> list[ConfigIssue]:
        """Prod's edge must be trusted by browsers and survive a proxy restart."""
        if not cluster.is_prod:
            return []
        found: list[ConfigIssue] = []
        if self.acme_issuer == "staging":
            found.append(ConfigIssue("acmeIssuer", self.acme_issuer, "prod allows auto or production"))
        if self.edge_replicas < 2:
            found.append(ConfigIssue("edgeReplicas", self.edge_replicas, "prod needs at least 2"))
        return found

    def acme_environment(self, cluster: ClusterConfig) -> Literal["staging", "production"]:
        """The Let's Encrypt environment this stack uses: ``auto`` is staging in dev, production in prod."""
        if self.acme_issuer != "auto":
            return self.acme_issuer
        return "production" if cluster.is_prod else "staging"

    def _monitoring_issues(self, cluster: ClusterConfig) -> list[ConfigIssue]:
        """Prod monitoring must survive a pod loss and cover the SLO window."""
        if not cluster.is_prod:
            return []
        found: list[ConfigIssue] = []
        if self.prometheus_replicas < 2:
            found.append(ConfigIssue("prometheusReplicas", self.prometheus_replicas, "prod needs at least 2"))
        if self.alertmanager_replicas < 2:
            found.append(ConfigIssue("alertmanagerReplicas", self.alertmanager_replicas, "prod needs at least 2"))
        if retention_hours(self.prometheus_retention) < SLO_WINDOW_HOURS:
            found.append(
                ConfigIssue(
                    "prometheusRetention",
                    self.prometheus_retention,
                    "prod needs at least 30d: the SLO error budget is computed over 30 days",
                )
            )
        return found
