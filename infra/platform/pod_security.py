"""Pod Security admission per namespace: the strictest level each namespace's workloads allow, with the reason.

Every namespace is *audited* and *warned* at ``restricted``, so anything that falls short of it is visible on every
apply and in the audit log, even where enforcement has to be looser. The policy version is pinned to the cluster's
minor version so a control-plane upgrade cannot tighten admission under running workloads unannounced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.naming import Concern

Level = Literal["privileged", "baseline", "restricted"]
LABEL_PREFIX = "pod-security.kubernetes.io"
MODES = ("enforce", "audit", "warn")


@dataclass(frozen=True)
class PodSecurity:
    """What a namespace enforces, and why when it is not ``restricted``."""

    enforce: Level
    reason: str


#: The one table of Pod Security levels. An exception to ``restricted`` must say which workload needs what.
POD_SECURITY: dict[Concern, PodSecurity] = {
    "app": PodSecurity("restricted", "our services run non-root with the restricted contexts of infra/k8s/security.py"),
    "serving": PodSecurity(
        "restricted",
        "vLLM needs no privilege: it runs non-root, the GPU comes from the device plugin as an extended resource "
        "(the runtime injects the device), /dev/shm is a memory emptyDir",
    ),
    "data": PodSecurity(
        "restricted", "in-cluster Postgres and Redis (dev) run non-root with RuntimeDefault seccomp and no capabilities"
    ),
    "monitoring": PodSecurity(
        "restricted",
        "Prometheus, Alertmanager, Grafana, the operator, kube-state-metrics and the log agent (which reads logs "
        "through the API, not the host) run restricted; node-exporter needs the host and runs in the platform "
        "namespace instead",
    ),
    "ingress": PodSecurity(
        "restricted",
        "Envoy Gateway, the Envoy proxies (listening on ports above 1024 inside the pod) and cert-manager, including "
        "its ACME solver pods, all run non-root without capabilities",
    ),
    "platform": PodSecurity(
        "privileged",
        "node agents only: the NVIDIA device plugin (hostPath to the kubelet's device-plugin socket), the DCGM "
        "exporter (hostPath to the kubelet's pod-resources socket; on GKE privileged access to /dev/nvidia*), and "
        "node-exporter (host PID and network namespaces). Nothing else may run here: its quota, network policies and "
        "the audit/warn labels keep it visible",
    ),
}


def pod_security_labels(enforce: Level, kubernetes_version: str) -> dict[str, str]:
    """``enforce`` as given, ``audit`` and ``warn`` at ``restricted``, every mode pinned to ``v<minor>``."""
    levels: dict[str, Level] = {"enforce": enforce, "audit": "restricted", "warn": "restricted"}
    labels: dict[str, str] = {}
    for mode in MODES:
        labels[f"{LABEL_PREFIX}/{mode}"] = levels[mode]
        labels[f"{LABEL_PREFIX}/{mode}-version"] = f"v{kubernetes_version}"
    return labels


def exceptions() -> dict[Concern, str]:
    """Every namespace that does not enforce ``restricted``, with its reason (docs and tests read this)."""
    return {concern: policy.reason for concern, policy in POD_SECURITY.items() if policy.enforce != "restricted"}
