"""The system and GPU node pools: what each pool is (a pure ``NodePoolSpec``) and the GKE node pool it becomes.

Both pools are hardened the same way: our least-privilege service account, COS with containerd, shielded VMs
(secure boot, integrity monitoring), Workload Identity's metadata server, no kubelet read-only port, boot disks
under our data key, and GKE's auto-repair and auto-upgrade. The GPU pool adds the accelerator (GKE installs
the driver), the taint and label every GPU workload selects by (``gpu_scheduling()``), and spot capacity in dev.

Autoscaling uses GKE's *total* limits, not per-zone ones: on a regional cluster a per-zone minimum of 2 means 6
GPU nodes across three zones, while the promise of prod is two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from infra.cluster import GPU_POOL, POOL_LABEL, SYSTEM_POOL, GpuScheduling, gpu_scheduling
from stacks.config.cluster import ClusterConfig

#: Kubernetes spells taint effects NoSchedule, GKE's API NO_SCHEDULE.
GKE_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
#: "LATEST" over "DEFAULT": vLLM images follow new CUDA releases, which need the newest driver COS offers.
GPU_DRIVER_VERSION = "LATEST"
SYSTEM_DISK_GB = 100
#: vLLM images are large (10+ GB unpacked); weights live on the model cache, not on the boot disk.
GPU_DISK_GB = 200
BOOT_DISK_TYPE = "pd-balanced"
IMAGE_TYPE = "COS_CONTAINERD"
OAUTH_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)  # IAM, not scopes, limits the account


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # GKE's spelling: NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE


@dataclass(frozen=True)
class Accelerator:
    type: str
    count: int
    driver_version: str = GPU_DRIVER_VERSION


@dataclass(frozen=True)
class NodePoolSpec:
    """One node pool, decided from the stack config before any resource exists."""

    name: str
    machine_type: str
    #: total limits across every zone of the pool
    min_nodes: int
    max_nodes: int
    spot: bool
    labels: Mapping[str, str]
    taints: tuple[Taint, ...] = ()
    accelerator: Accelerator | None = None
    disk_size_gb: int = SYSTEM_DISK_GB
    #: surge a new node before draining an old one (keeps capacity; needs quota for one extra node)
    surge_upgrades: bool = True
    zones: tuple[str, ...] = field(default_factory=tuple)

    @property
    def location_policy(self) -> str:
        """Spot capacity comes from whichever zone has it (ANY); otherwise spread nodes over the zones."""
        return "ANY" if self.spot else "BALANCED"

    @property
    def initial_nodes_per_zone(self) -> int:
        """GKE counts the initial size per zone; enough to meet the total minimum from the first minute."""
        return math.ceil(self.min_nodes / len(self.zones)) if self.zones else self.min_nodes

    @property
    def max_surge(self) -> int:
        return 1 if self.surge_upgrades else 0

    @property
    def max_unavailable(self) -> int:
        return 0 if self.surge_upgrades else 1


def gke_taints(scheduling: GpuScheduling) -> tuple[Taint, ...]:
    """The taints whose tolerations ``scheduling`` carries, so the pool and the workloads cannot disagree."""
    return tuple(
        Taint(key=toleration["key"], value=toleration["value"], effect=GKE_TAINT_EFFECTS[toleration["effect"]])
        for toleration in scheduling.tolerations
    )


def system_pool_spec(cluster: ClusterConfig) -> NodePoolSpec:
    """On-demand nodes for the platform and the services; never tainted."""
    return NodePoolSpec(
        name=SYSTEM_POOL,
        machine_type=cluster.gcp_system_machine_type,
        min_nodes=cluster.system_pool_min_nodes,
        max_nodes=cluster.system_pool_max_nodes,
        spot=False,
        labels={POOL_LABEL: SYSTEM_POOL},
        zones=tuple(cluster.gcp_zones),
    )


def gpu_pool_spec(cluster: ClusterConfig) -> NodePoolSpec:
    """GPU nodes only GPU workloads land on; spot in dev (upgraded in place: no spare GPU quota needed)."""
    scheduling = gpu_scheduling()
    spot = cluster.gpu_capacity == "spot"
    return NodePoolSpec(
        name=GPU_POOL,
        machine_type=cluster.gcp_gpu_machine_type,
        min_nodes=cluster.gpu_pool_min_nodes,
        max_nodes=cluster.gpu_pool_max_nodes,
        spot=spot,
        labels=dict(scheduling.node_selector),
        taints=gke_taints(scheduling),
        accelerator=Accelerator(type=cluster.gpu_type, count=cluster.gpus_per_node),
        disk_size_gb=GPU_DISK_GB,
        surge_upgrades=not spot,
        zones=tuple(cluster.gcp_zones),
    )


def node_config(
    spec: NodePoolSpec, *, service_account: pulumi.Input[str], boot_disk_kms_key: pulumi.Input[str]
) -> gcp.container.NodePoolNodeConfigArgs:
    """The VM and kubelet settings of a pool."""
    accelerator = spec.accelerator
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=spec.machine_type,
        image_type=IMAGE_TYPE,
        disk_type=BOOT_DISK_TYPE,
        disk_size_gb=spec.disk_size_gb,
        boot_disk_kms_key=boot_disk_kms_key,
        service_account=service_account,
        oauth_scopes=list(OAUTH_SCOPES),
        spot=spec.spot,
        labels=dict(spec.labels),
        taints=[
            gcp.container.NodePoolNodeConfigTaintArgs(key=t.key, value=t.value, effect=t.effect) for t in spec.taints
        ],
        guest_accelerators=[
            gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                type=accelerator.type,
                count=accelerator.count,
                gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                    gpu_driver_version=accelerator.driver_version
                ),
            )
        ]
        if accelerator
        else [],
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        kubelet_config=gcp.container.NodePoolNodeConfigKubeletConfigArgs(
            insecure_kubelet_readonly_port_enabled="FALSE"
        ),
        gcfs_config=gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True),
        metadata={"disable-legacy-endpoints": "true"},
    )


def node_pool(
    resource_name: str,
    spec: NodePoolSpec,
    *,
    cluster: pulumi.Input[str],
    location: pulumi.Input[str],
    node_locations: Sequence[str],
    service_account: pulumi.Input[str],
    boot_disk_kms_key: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> gcp.container.NodePool:
    """The GKE node pool for ``spec``, autoscaled between its total limits and managed by GKE."""
    return gcp.container.NodePool(
        resource_name,
        name=spec.name,
        cluster=cluster,
        location=location,
        node_locations=list(node_locations),
        initial_node_count=spec.initial_nodes_per_zone,
        autoscaling=gcp.container.NodePoolAutoscalingArgs(
            total_min_node_count=spec.min_nodes,
            total_max_node_count=spec.max_nodes,
            location_policy=spec.location_policy,
        ),
        management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
            strategy="SURGE", max_surge=spec.max_surge, max_unavailable=spec.max_unavailable
        ),
        node_config=node_config(spec, service_account=service_account, boot_disk_kms_key=boot_disk_kms_key),
        # Changing the initial size would replace the pool; after creation the autoscaler owns the size.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])),
    )
