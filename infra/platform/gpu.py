"""GPU plumbing: the NVIDIA device plugin where the cloud does not run one, and the DCGM exporter everywhere.

Per cloud:
- AWS: the EKS AL2023 NVIDIA AMI ships the driver and the container toolkit (containerd's default runtime is
  ``nvidia``) but no device plugin, so we install it; it must not try to install a driver.
- GCP: GKE installs the driver (``gpu_driver_installation_config``) and runs its own device plugin in kube-system, so
  a second one would advertise the GPUs twice. Only the exporter is ours, reading the driver from GKE's host path.

Both run only on GPU nodes (the pool's node selector and taint toleration from ``ClusterInterface.gpu``), in the
platform namespace (privileged: see infra/platform/pod_security.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from infra.cluster import GpuScheduling
from infra.platform.charts import (
    DCGM_EXPORTER_CHART,
    DCGM_EXPORTER_IMAGE,
    NVIDIA_DEVICE_PLUGIN_CHART,
    NVIDIA_DEVICE_PLUGIN_IMAGE,
)
from infra.platform.helm import helm_release

Cloud = Literal["aws", "gcp"]
DCGM_RELEASE = "dcgm-exporter"
DEVICE_PLUGIN_RELEASE = "nvidia-device-plugin"
DCGM_PORT = 9400
DCGM_PORT_NAME = "metrics"
#: The default counter set covers every DCGM series we chart and alert on (utilisation, framebuffer, temperature,
#: power, XID errors) without the profiling counters, which need CAP_SYS_ADMIN.
DCGM_COUNTERS = "/etc/dcgm-exporter/default-counters.csv"
#: Where GKE's driver installer puts the NVIDIA libraries and tools on the node, and where containers expect them.
GKE_DRIVER_HOST_PATH = "/home/kubernetes/bin/nvidia"
GKE_DRIVER_MOUNT = "/usr/local/nvidia"


@dataclass(frozen=True)
class DcgmEndpoint:
    """How Prometheus finds the DCGM exporter: the monitoring stage writes the ServiceMonitor from this."""

    namespace: str
    service_name: str
    port_name: str
    port: int
    #: labels on the exporter's Service (a ServiceMonitor's selector)
    service_labels: dict[str, str]


def gpu_node_affinity(gpu: GpuScheduling) -> dict[str, Any]:
    """Required node affinity on the GPU pool label, replacing charts' defaults (which expect NFD labels)."""
    terms = [{"key": key, "operator": "In", "values": [value]} for key, value in gpu.node_selector.items()]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": terms}]}
        }
    }


def device_plugin_values(gpu: GpuScheduling) -> dict[str, Any]:
    """The device plugin only: no GPU feature discovery, no NFD, no MPS; GPU nodes only."""
    return {
        "image": {
            "repository": NVIDIA_DEVICE_PLUGIN_IMAGE.repository,
            "tag": NVIDIA_DEVICE_PLUGIN_IMAGE.tag_and_digest,
        },
        "nodeSelector": dict(gpu.node_selector),
        "affinity": gpu_node_affinity(gpu),
        "tolerations": [dict(t) for t in gpu.tolerations],
        "gfd": {"enabled": False},
        "nfd": {"enabled": False},
        "failOnInitError": True,  # a node whose GPU cannot be advertised should be visibly broken, not silently empty
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def dcgm_exporter_values(cloud: Cloud, gpu: GpuScheduling) -> dict[str, Any]:
    """The exporter on every GPU node, ServiceMonitor off (the monitoring stage's).

    The chart always labels each GPU series with the pod using it (``DCGM_EXPORTER_KUBERNETES=true``, through the
    kubelet's pod-resources socket); there is no value to set for it. Helm merges maps into the chart's defaults, so
    each security context below states ``capabilities`` whole: the chart's default adds ``SYS_ADMIN`` (for the
    profiling counters we do not collect), and a context that set only ``drop`` would keep that ``add``.
    """
    values: dict[str, Any] = {
        "image": {"repository": DCGM_EXPORTER_IMAGE.repository, "tag": DCGM_EXPORTER_IMAGE.tag_and_digest},
        "arguments": ["-f", DCGM_COUNTERS],
        "nodeSelector": dict(gpu.node_selector),
        "affinity": gpu_node_affinity(gpu),
        "tolerations": [dict(t) for t in gpu.tolerations],
        "serviceMonitor": {"enabled": False},
        "service": {"enable": True, "type": "ClusterIP", "port": DCGM_PORT},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    }
    if cloud == "aws":
        # The nvidia runtime injects every GPU and the driver libraries (NVIDIA_VISIBLE_DEVICES=all); DCGM reads
        # device state as root but needs no capability without the profiling counters.
        values["securityContext"] = {
            "runAsNonRoot": False,
            "runAsUser": 0,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": []},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        values["extraEnv"] = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]
    else:
        # GKE has no nvidia runtime: the driver comes from the host and /dev/nvidia* needs a privileged container
        # (the exception Google documents for running DCGM on GKE).
        values["securityContext"] = {
            "privileged": True,
            "runAsNonRoot": False,
            "runAsUser": 0,
            "capabilities": {"drop": ["ALL"], "add": []},  # no SYS_ADMIN from the chart's defaults either
        }
        values["extraHostVolumes"] = [{"name": "nvidia-install-dir-host", "hostPath": GKE_DRIVER_HOST_PATH}]
        values["extraVolumeMounts"] = [
            {"name": "nvidia-install-dir-host", "mountPath": GKE_DRIVER_MOUNT, "readOnly": True}
        ]
        values["extraEnv"] = [
            {"name": "LD_LIBRARY_PATH", "value": f"{GKE_DRIVER_MOUNT}/lib64"},
            {"name": "PATH", "value": f"/usr/bin:/bin:{GKE_DRIVER_MOUNT}/bin"},
        ]
    return values


def installs_device_plugin(cloud: Cloud) -> bool:
    """Only where the cloud does not already run one (GKE does)."""
    return cloud == "aws"


@dataclass(frozen=True)
class GpuPlumbingArgs:
    cloud: Cloud
    namespace: str
    gpu: GpuScheduling


class GpuPlumbing(pulumi.ComponentResource):
    """Device plugin (AWS) and DCGM exporter (both), as pinned Helm releases."""

    dcgm: DcgmEndpoint

    def __init__(
        self,
        name: str,
        args: GpuPlumbingArgs,
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: the platform namespace."""
        super().__init__("helpline:platform:GpuPlumbing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(after))
        if installs_device_plugin(args.cloud):
            helm_release(
                DEVICE_PLUGIN_RELEASE, NVIDIA_DEVICE_PLUGIN_CHART, args.namespace, device_plugin_values(args.gpu), child
            )
        helm_release(
            DCGM_RELEASE, DCGM_EXPORTER_CHART, args.namespace, dcgm_exporter_values(args.cloud, args.gpu), child
        )
        self.dcgm = DcgmEndpoint(
            namespace=args.namespace,
            service_name=DCGM_RELEASE,  # the chart names its Service after the release
            port_name=DCGM_PORT_NAME,
            port=DCGM_PORT,
            service_labels={"app.kubernetes.io/name": "dcgm-exporter", "app.kubernetes.io/instance": DCGM_RELEASE},
        )
        self.register_outputs({"dcgmService": self.dcgm.service_name})
