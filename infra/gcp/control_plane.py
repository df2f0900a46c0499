"""The GKE control plane: where it runs, who may reach it, how it is secured and maintained.

Dev is a zonal cluster in the first configured zone (one control plane, no regional fee, upgrades briefly
interrupt the API); prod is regional, with control plane replicas and nodes in every configured zone. Nodes are
always private. In prod the API is private too (reachable from the VPC only); in dev it is public but limited
to ``apiAllowedCidrs``. Either may additionally serve the IAM-guarded DNS endpoint (``gcpDnsEndpoint``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.gcp.network import NetworkRanges, SecondaryRangeNames
from infra.gcp.principals import workload_pool

#: Monday; the first window starts on the first configured day after it. A fixed date keeps renders stable, and
#: GKE only reads the time of day and the duration from a date in the past.
MAINTENANCE_ANCHOR = dt.date(2025, 1, 6)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
LOGGED_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS")
#: Metrics beyond the system components would need Google's managed Prometheus; the platform runs its own.
MONITORED_COMPONENTS = ("SYSTEM_COMPONENTS",)


@dataclass(frozen=True)
class Placement:
    """Where the control plane and the nodes run."""

    location: str
    zones: tuple[str, ...]
    regional: bool

    @property
    def cluster_node_locations(self) -> list[str]:
        """The cluster resource lists its extra zones only: a zonal cluster's own zone is implied."""
        return [zone for zone in self.zones if zone != self.location]


def placement(*, regional: bool, region: str, zones: Sequence[str]) -> Placement:
    """Regional: the region, nodes in every zone. Zonal: the first zone (nodes may still span the others)."""
    if not zones:
        raise ValueError("at least one zone is required")
    return Placement(location=region if regional else zones[0], zones=tuple(zones), regional=regional)


@dataclass(frozen=True)
class MaintenanceWindow:
    """A weekly window in UTC during which GKE may upgrade the control plane and the nodes."""

    days: tuple[str, ...]
    start: str  # HH:MM
    hours: int

    def _first_start(self) -> dt.datetime:
        hour, minute = (int(part) for part in self.start.split(":"))
        first = next(
            MAINTENANCE_ANCHOR + dt.timedelta(days=offset)
            for offset in range(7)
            if WEEKDAYS[(MAINTENANCE_ANCHOR + dt.timedelta(days=offset)).weekday()] in self.days
        )
        return dt.datetime(first.year, first.month, first.day, hour, minute, tzinfo=dt.UTC)

    @property
    def start_time(self) -> str:
        """RFC 3339, on a day the window recurs on (RFC 5545 leaves a start outside the rule undefined)."""
        return self._first_start().strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def end_time(self) -> str:
        return (self._first_start() + dt.timedelta(hours=self.hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def recurrence(self) -> str:
        ordered = [day for day in WEEKDAYS if day in self.days]
        return f"FREQ=WEEKLY;BYDAY={','.join(ordered)}"


def authorized_networks(
    *,
    private_endpoint: bool,
    api_allowed_cidrs: Sequence[str],
    node_subnet: str,
    api_private_cidrs: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """(CIDR, display name) allowed to reach the API's IP endpoints: when private, the node subnet and the private
    ranges the config adds (VPN, CI runners); else the config's public ranges."""
    if private_endpoint:
        return [(node_subnet, "node-subnet")] + [
            (cidr, f"api-private-{index}") for index, cidr in enumerate(api_private_cidrs)
        ]
    return [(cidr, f"api-allowed-{index}") for index, cidr in enumerate(api_allowed_cidrs)]


@dataclass(frozen=True)
class ControlPlaneSpec:
    """Everything about the control plane that comes from config."""

    name: str
    project: str
    placement: Placement
    kubernetes_version: str
    release_channel: str
    private_endpoint: bool
    dns_endpoint: bool
    api_allowed_cidrs: tuple[str, ...]
    ranges: NetworkRanges
    maintenance: MaintenanceWindow
    deletion_protection: bool
    #: cheaper, faster scale-down for dev's idle GPUs; prod keeps headroom
    autoscaling_profile: str
    #: private ranges besides the node subnet admitted to a private endpoint
    api_private_cidrs: tuple[str, ...] = ()


def gke_cluster(
    resource_name: str,
    spec: ControlPlaneSpec,
    *,
    network: pulumi.Input[str],
    subnet: pulumi.Input[str],
    secondary_ranges: SecondaryRangeNames,
    secrets_key: pulumi.Input[str],
    node_service_account: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> gcp.container.Cluster:
    """The cluster without its default node pool; node pools are separate resources (``node_pools``)."""
    return gcp.container.Cluster(
        resource_name,
        name=spec.name,
        location=spec.placement.location,
        node_locations=spec.placement.cluster_node_locations,
        min_master_version=spec.kubernetes_version,
        release_channel=gcp.container.ClusterReleaseChannelArgs(channel=spec.release_channel),
        network=network,
        subnetwork=subnet,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name=secondary_ranges.pods,
            services_secondary_range_name=secondary_ranges.services,
            stack_type="IPV4",
        ),
        # Dataplane V2 (eBPF) enforces NetworkPolicy itself: the Calico add-on stays off.
        datapath_provider="ADVANCED_DATAPATH",
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True,
            enable_private_endpoint=spec.private_endpoint,
            master_ipv4_cidr_block=spec.ranges.control_plane,
        ),
        master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=[
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=cidr, display_name=label)
                for cidr, label in authorized_networks(
                    private_endpoint=spec.private_endpoint,
                    api_allowed_cidrs=spec.api_allowed_cidrs,
                    node_subnet=spec.ranges.nodes,
                    api_private_cidrs=spec.api_private_cidrs,
                )
            ],
            gcp_public_cidrs_access_enabled=False,
        ),
        control_plane_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigArgs(
            dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                allow_external_traffic=spec.dns_endpoint
            )
        ),
        workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
            workload_pool=workload_pool(spec.project)
        ),
        enable_shielded_nodes=True,
        database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=secrets_key),
        master_auth=gcp.container.ClusterMasterAuthArgs(
            client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                issue_client_certificate=False
            )
        ),
        # Anonymous requests reach only the health endpoints; no binding may grant anything to all users.
        anonymous_authentication_config=gcp.container.ClusterAnonymousAuthenticationConfigArgs(mode="LIMITED"),
        rbac_binding_config=gcp.container.ClusterRbacBindingConfigArgs(
            enable_insecure_binding_system_authenticated=False,
            enable_insecure_binding_system_unauthenticated=False,
        ),
        addons_config=gcp.container.ClusterAddonsConfigArgs(
            # Backend-service-based network load balancers (the ingress Service) are managed by this add-on.
            http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
            horizontal_pod_autoscaling=gcp.container.ClusterAddonsConfigHorizontalPodAutoscalingArgs(disabled=False),
            network_policy_config=gcp.container.ClusterAddonsConfigNetworkPolicyConfigArgs(disabled=True),
            gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(
                enabled=True
            ),
            gcp_filestore_csi_driver_config=gcp.container.ClusterAddonsConfigGcpFilestoreCsiDriverConfigArgs(
                enabled=True
            ),
            # NodeLocal DNSCache: every namespace's allow-dns policy admits its address (GKE_NODE_LOCAL_DNS)
            dns_cache_config=gcp.container.ClusterAddonsConfigDnsCacheConfigArgs(enabled=True),
        ),
        cluster_autoscaling=gcp.container.ClusterClusterAutoscalingArgs(
            enabled=False, autoscaling_profile=spec.autoscaling_profile
        ),
        logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=list(LOGGED_COMPONENTS)),
        monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
            enable_components=list(MONITORED_COMPONENTS),
            managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=False),
        ),
        cost_management_config=gcp.container.ClusterCostManagementConfigArgs(enabled=True),
        maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
            recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
                start_time=spec.maintenance.start_time,
                end_time=spec.maintenance.end_time,
                recurrence=spec.maintenance.recurrence,
            )
        ),
        deletion_protection=spec.deletion_protection,
        remove_default_node_pool=True,
        initial_node_count=1,
        # The default pool lives for minutes, but it still must not run as the Compute Engine default account.
        node_config=gcp.container.ClusterNodeConfigArgs(
            service_account=node_service_account,
            oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
            workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True
            ),
            metadata={"disable-legacy-endpoints": "true"},
        ),
        # node_config only describes the removed default pool; changing it later must not replace the cluster.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["nodeConfig"])),
    )
