"""Cluster config: which cloud, where, which Kubernetes, and the system and GPU node pools.

Keys that only make sense on one cloud carry its prefix (``aws*``, ``gcp*``) so that one stack file can be
rendered for either cloud (``make render STACK=dev CLOUD=gcp``) without editing it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import field_validator

from infra.aws.subnets import MAX_ZONES, SubnetPlanError, checked_vpc_network
from infra.aws.versions import parse_addon_versions
from infra.gcp import ranges as gcp_ranges
from stacks.config.base import ConfigIssue, ConfigSection, key

Environment = Literal["dev", "prod"]
Cloud = Literal["aws", "gcp"]
GpuType = Literal["nvidia-l4", "nvidia-a10g", "nvidia-l40s", "nvidia-a100-80gb", "nvidia-h100-80gb"]
Capacity = Literal["spot", "on-demand"]

#: Kubernetes minors both EKS and GKE support in standard support, and that the render validates against.
SUPPORTED_KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")

#: Which GPU each instance family carries. A GPU type that the chosen machine does not have is a config error.
AWS_GPU_FAMILIES: dict[str, GpuType] = {
    "g6": "nvidia-l4",
    "g5": "nvidia-a10g",
    "g6e": "nvidia-l40s",
    "p4de": "nvidia-a100-80gb",
    "p5": "nvidia-h100-80gb",
}
GCP_GPU_FAMILIES: dict[str, GpuType] = {
    "g2": "nvidia-l4",
    "a2": "nvidia-a100-80gb",  # a2-ultragpu-*; a2-highgpu carries the 40 GB A100 we do not offer
    "a3": "nvidia-h100-80gb",
}


#: Retention periods CloudWatch Logs accepts.
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
#: What EKS access entries accept: an IAM role or user (an STS assumed-role session ARN is refused by EKS).
_IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")


#: g2 shapes with more than one L4; every other g2 shape has one. a2/a3 names end in the count: a3-highgpu-4g.
GCP_G2_MULTI_GPU = {"g2-standard-24": 2, "g2-standard-48": 4, "g2-standard-96": 8}
GCP_MAINTENANCE_START = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: GKE refuses maintenance windows that leave fewer hours than this in any 32 days.
GKE_MIN_MAINTENANCE_HOURS_PER_32_DAYS = 48


def gcp_gpus_per_machine(machine_type: str) -> int | None:
    """GPUs an accelerator-optimized GCP machine always carries (GKE must attach exactly that many), or None."""
    if machine_family(machine_type) == "g2":
        return GCP_G2_MULTI_GPU.get(machine_type, 1)
    suffix = re.search(r"-(\d+)g$", machine_type)
    return int(suffix.group(1)) if suffix else None


def machine_family(machine_type: str) -> str:
    """``g6.xlarge`` -> ``g6``; ``g2-standard-8`` -> ``g2`` (the part that decides the GPU)."""
    return machine_type.replace(".", "-").split("-", 1)[0]


class ClusterConfig(ConfigSection):
    """Where the cluster runs and how its node pools are shaped."""

    environment: Environment = key(
        "environment",
        "Profile the stack follows: dev (cheap, zonal, spot GPUs, may scale to zero) or prod "
        "(multi-zone, on-demand GPUs, at least two GPU nodes, private API endpoint). Prod rules are enforced.",
        "dev",
    )
    cloud: Cloud = key("cloud", "Cloud to provision on: aws (EKS) or gcp (GKE).", "aws")
    kubernetes_version: str = key(
        "kubernetesVersion",
        f"Kubernetes minor version, pinned. One of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}.",
        "1.34",
    )
    gpu_type: GpuType = key("gpuType", "GPU model on the GPU pool; must match the machine type.", "nvidia-l4")
    gpus_per_node: int = key("gpusPerNode", "GPUs attached to each GPU node.", 1, ge=1, le=8)
    gpu_capacity: Capacity = key(
        "gpuCapacity", "Purchase option for GPU nodes: spot (dev) or on-demand (prod).", "spot"
    )
    gpu_pool_min_nodes: int = key(
        "gpuPoolMinNodes", "Minimum GPU nodes; 0 lets dev scale to zero, prod needs at least 2.", 0, ge=0
    )
    gpu_pool_max_nodes: int = key("gpuPoolMaxNodes", "Maximum GPU nodes the autoscaler may add.", 2, ge=1)
    system_pool_min_nodes: int = key(
        "systemPoolMinNodes",
        "Minimum system (non-GPU) nodes; they run the platform and the services.",
        2,
        ge=1,
    )
    system_pool_max_nodes: int = key("systemPoolMaxNodes", "Maximum system nodes.", 4, ge=1)
    private_endpoint: bool = key(
        "privateEndpoint",
        "Keep the Kubernetes API private to the VPC (prod). When false, the API is public but limited to "
        "apiAllowedCidrs.",
        False,
    )
    api_allowed_cidrs: list[str] = key(
        "apiAllowedCidrs",
        "CIDRs allowed to reach a public Kubernetes API endpoint (dev). Ignored when privateEndpoint is true.",
        ["0.0.0.0/0"],
    )
    accept_placeholders: list[str] = key(
        "acceptPlaceholders",
        "Keys prod may render with their committed example value (appImage, gcpProjectNumber, "
        "awsAdminPrincipalArns, alertPagerWebhookUrl), each named: for offline renders and previews only.",
        [],
    )
    api_private_cidrs: list[str] = key(
        "apiPrivateCidrs",
        "With privateEndpoint: private ranges besides the node subnet that may reach the private Kubernetes API "
        "(VPN, interconnect, CI runners inside the network), as GKE master authorized networks. gcp only for now.",
        [],
    )
    single_nat: bool = key(
        "singleNat",
        "One NAT gateway for the whole VPC (dev, cheaper) instead of one per zone (prod, survives a zone "
        "outage). GCP's Cloud NAT is regional either way.",
        True,
    )
    # --- AWS -------------------------------------------------------------------------------------------
    aws_region: str = key("awsRegion", "AWS region, for example us-east-1. Required on aws.", "")
    aws_zones: list[str] = key(
        "awsZones", "Availability zones for subnets and node groups (one for dev, three for prod).", []
    )
    aws_vpc_cidr: str = key("awsVpcCidr", "VPC CIDR; split into per-zone private and public subnets.", "10.40.0.0/16")
    aws_system_instance_type: str = key("awsSystemInstanceType", "EC2 type of system nodes.", "m7i.xlarge")
    aws_gpu_instance_type: str = key("awsGpuInstanceType", "EC2 type of GPU nodes (g6 = L4, g5 = A10G).", "g6.xlarge")
    aws_admin_principal_arns: list[str] = key(
        "awsAdminPrincipalArns",
        "IAM role/user ARNs granted cluster admin through EKS access entries (for example the CI deploy role).",
        [],
    )
    aws_log_retention_days: int = key(
        "awsLogRetentionDays",
        "Days CloudWatch keeps the EKS control-plane logs and the VPC flow logs (a CloudWatch retention value).",
        90,
    )
    aws_addon_versions: list[str] = key(
        "awsAddonVersions",
        "Pins for EKS managed add-ons as <add-on>=<version> (e.g. coredns=v1.12.1-eksbuild.2); unpinned ones get "
        "the version EKS ships for the cluster's Kubernetes minor.",
        [],
    )
    # --- GCP -------------------------------------------------------------------------------------------
    gcp_project: str = key("gcpProject", "GCP project id. Required on gcp.", "")
    gcp_region: str = key("gcpRegion", "GCP region, for example us-central1. Required on gcp.", "")
    gcp_zones: list[str] = key(
        "gcpZones", "Zones for node pools; the first is the cluster location in dev (zonal cluster).", []
    )
    gcp_subnet_cidr: str = key("gcpSubnetCidr", "Primary range of the node subnet.", "10.50.0.0/20")
    gcp_pods_cidr: str = key("gcpPodsCidr", "Secondary range for pods (VPC-native).", "10.52.0.0/14")
    gcp_services_cidr: str = key("gcpServicesCidr", "Secondary range for services.", "10.56.0.0/20")
    gcp_master_cidr: str = key("gcpMasterCidr", "/28 range for the private control plane.", "172.16.0.32/28")
    gcp_release_channel: Literal["RAPID", "REGULAR", "STABLE"] = key(
        "gcpReleaseChannel", "GKE release channel.", "REGULAR"
    )
    gcp_system_machine_type: str = key("gcpSystemMachineType", "Machine type of system nodes.", "e2-standard-4")
    gcp_gpu_machine_type: str = key("gcpGpuMachineType", "Machine type of GPU nodes (g2 = L4).", "g2-standard-8")
    gcp_project_number: str = key(
        "gcpProjectNumber",
        "GCP project number (`gcloud projects describe <project> --format='value(projectNumber)'`): names the GKE "
        "and Compute Engine service agents granted use of the KMS keys. Required on gcp.",
        "",
    )
    gcp_private_services_cidr: str = key(
        "gcpPrivateServicesCidr",
        "Range reserved for private service access: Filestore (model cache), Cloud SQL and Memorystore get their "
        "addresses from it. /24 or larger.",
        "10.58.0.0/20",
    )
    gcp_dns_endpoint: bool = key(
        "gcpDnsEndpoint",
        "Also serve the Kubernetes API on GKE's DNS endpoint, reachable from outside the VPC (for example by CI) "
        "but only with IAM permission container.clusters.connect; the kubeconfig then uses it.",
        False,
    )
    gcp_model_cache_tier: Literal["standard", "premium", "zonal", "enterprise"] = key(
        "gcpModelCacheTier",
        "Filestore tier of the shared model cache: standard (HDD, cheapest), premium (SSD, fastest model loads), "
        "zonal (SSD), enterprise (regional, survives a zone outage). Each volume is at least 1 TiB (premium 2.5).",
        "standard",
    )
    gcp_maintenance_days: list[Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]] = key(
        "gcpMaintenanceDays", "Days on which GKE may upgrade the control plane and nodes.", ["SA", "SU"]
    )
    gcp_maintenance_start: str = key("gcpMaintenanceStart", "Start of each maintenance window, HH:MM in UTC.", "02:00")
    gcp_maintenance_hours: int = key(
        "gcpMaintenanceHours", "Length of each maintenance window in hours.", 8, ge=4, le=24
    )

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}")
        return value

    @field_validator(
        "aws_vpc_cidr",
        "gcp_subnet_cidr",
        "gcp_pods_cidr",
        "gcp_services_cidr",
        "gcp_master_cidr",
        "gcp_private_services_cidr",
    )
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        network = ipaddress.ip_network(value, strict=True)
        if not network.is_private:
            raise ValueError("must be a private (RFC 1918) CIDR such as 10.40.0.0/16")
        return value

    @field_validator("aws_admin_principal_arns")
    @classmethod
    def _iam_principals(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _IAM_PRINCIPAL_ARN.match(value):
                raise ValueError(
                    f"{value!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>); "
                    "EKS access entries refuse assumed-role session ARNs"
                )
        return values

    @field_validator("aws_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(f"must be a CloudWatch retention period: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}")
        return value

    @field_validator("gcp_project_number")
    @classmethod
    def _project_number(cls, value: str) -> str:
        if value and not value.isdigit():
            raise ValueError("must be the numeric project number (for example 123456789012), not the project id")
        return value

    @field_validator("gcp_maintenance_start")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not GCP_MAINTENANCE_START.match(value):
            raise ValueError("must be HH:MM in UTC, for example 02:00")
        return value

    @field_validator("api_allowed_cidrs")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=True)
        return values

    @field_validator("api_private_cidrs")
    @classmethod
    def _private_cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            if not ipaddress.ip_network(value, strict=True).is_private:
                raise ValueError(f"{value} is not a private range: a private endpoint is reached only from inside")
        return values

    # ----------------------------------------------------------------------------------------------------
    @property
    def region(self) -> str:
        """The region of the selected cloud (``issues`` reports it when empty)."""
        return self.aws_region if self.cloud == "aws" else self.gcp_region

    @property
    def zones(self) -> list[str]:
        return self.aws_zones if self.cloud == "aws" else self.gcp_zones

    @property
    def gpu_machine_type(self) -> str:
        return self.aws_gpu_instance_type if self.cloud == "aws" else self.gcp_gpu_machine_type

    @property
    def system_machine_type(self) -> str:
        return self.aws_system_instance_type if self.cloud == "aws" else self.gcp_system_machine_type

    @property
    def pod_cidrs(self) -> tuple[str, ...]:
        """Where pod addresses come from: the VPC on EKS (the VPC CNI gives pods VPC addresses), the pods' secondary
        range on GKE (VPC-native). The edge's Envoy proxies are pods, so forwarded headers are trusted from here."""
        return (self.aws_vpc_cidr,) if self.cloud == "aws" else (self.gcp_pods_cidr,)

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def issues(self) -> list[ConfigIssue]:
        """Cross-key rules: what the selected cloud needs, and what the prod profile promises."""
        found: list[ConfigIssue] = []
        region_key, zones_key = ("awsRegion", "awsZones") if self.cloud == "aws" else ("gcpRegion", "gcpZones")
        region = self.aws_region if self.cloud == "aws" else self.gcp_region
        if not region:
            found.append(ConfigIssue(region_key, None, f"required when cloud is {self.cloud}"))
        if not self.zones:
            found.append(ConfigIssue(zones_key, [], f"at least one zone is required when cloud is {self.cloud}"))
        elif region and any(not zone.startswith(region) for zone in self.zones):
            found.append(ConfigIssue(zones_key, self.zones, f"every zone must be in region {region}"))
        elif len(set(self.zones)) != len(self.zones):
            found.append(ConfigIssue(zones_key, self.zones, "zones must be distinct"))
        if self.cloud == "gcp" and not self.gcp_project:
            found.append(ConfigIssue("gcpProject", None, "required when cloud is gcp"))
        if self.cloud == "aws":
            found.extend(self._aws_issues())
        if self.api_private_cidrs and (self.cloud != "gcp" or not self.private_endpoint):
            found.append(
                ConfigIssue(
                    "apiPrivateCidrs",
                    self.api_private_cidrs,
                    "applies only to gcp with privateEndpoint: true (a public endpoint takes apiAllowedCidrs; on EKS "
                    "the private endpoint is reached through the cluster security group)",
                )
            )
        found.extend(self._gpu_machine_issues())
        if self.cloud == "gcp":
            found.extend(self._gcp_issues())
        if self.gpu_pool_max_nodes < self.gpu_pool_min_nodes:
            found.append(
                ConfigIssue(
                    "gpuPoolMaxNodes",
                    self.gpu_pool_max_nodes,
                    f"must be >= gpuPoolMinNodes ({self.gpu_pool_min_nodes})",
                )
            )
        if self.system_pool_max_nodes < self.system_pool_min_nodes:
            found.append(
                ConfigIssue(
                    "systemPoolMaxNodes",
                    self.system_pool_max_nodes,
                    f"must be >= systemPoolMinNodes ({self.system_pool_min_nodes})",
                )
            )
        if self.is_prod:
            found.extend(self._prod_issues())
        return found

    def _aws_issues(self) -> list[ConfigIssue]:
        """What the EKS layout needs: a VPC the subnet plan fits, one system node group per zone, known add-ons."""
        found: list[ConfigIssue] = []
        try:
            checked_vpc_network(self.aws_vpc_cidr)
        except SubnetPlanError as exc:
            found.append(ConfigIssue("awsVpcCidr", self.aws_vpc_cidr, str(exc)))
        if len(self.aws_zones) > MAX_ZONES:
            found.append(ConfigIssue("awsZones", self.aws_zones, f"at most {MAX_ZONES} zones"))
        if self.aws_zones and self.system_pool_max_nodes < len(self.aws_zones):
            found.append(
                ConfigIssue(
                    "systemPoolMaxNodes",
                    self.system_pool_max_nodes,
                    f"must be >= the number of awsZones ({len(self.aws_zones)}): each zone has its own system node group",
                )
            )
        try:
            parse_addon_versions(self.aws_addon_versions)
        except ValueError as exc:
            found.append(ConfigIssue("awsAddonVersions", self.aws_addon_versions, str(exc)))
        return found

    def _gpu_machine_issues(self) -> list[ConfigIssue]:
        families = AWS_GPU_FAMILIES if self.cloud == "aws" else GCP_GPU_FAMILIES
        machine_key = "awsGpuInstanceType" if self.cloud == "aws" else "gcpGpuMachineType"
        family = machine_family(self.gpu_machine_type)
        if family not in families:
            allowed = ", ".join(f"{name}.* ({gpu})" for name, gpu in families.items())
            return [
                ConfigIssue(machine_key, self.gpu_machine_type, f"not a known GPU machine family; allowed: {allowed}")
            ]
        if families[family] != self.gpu_type:
            return [
                ConfigIssue(
                    "gpuType",
                    self.gpu_type,
                    f"{self.gpu_machine_type} carries {families[family]}; set gpuType to it or pick another machine",
                )
            ]
        return []

    def _prod_issues(self) -> list[ConfigIssue]:
        zones_key = "awsZones" if self.cloud == "aws" else "gcpZones"
        found: list[ConfigIssue] = []
        if self.gpu_pool_min_nodes < 2:
            found.append(ConfigIssue("gpuPoolMinNodes", self.gpu_pool_min_nodes, "prod needs at least 2 GPU nodes"))
        if self.gpu_capacity != "on-demand":
            found.append(ConfigIssue("gpuCapacity", self.gpu_capacity, "prod allows only on-demand"))
        if len(self.zones) < 2:
            found.append(ConfigIssue(zones_key, self.zones, "prod needs at least 2 zones (3 recommended)"))
        if not self.private_endpoint:
            found.append(ConfigIssue("privateEndpoint", False, "prod allows only true"))
        if self.single_nat and self.cloud == "aws":
            found.append(ConfigIssue("singleNat", True, "prod allows only false (one NAT gateway per zone)"))
        return found

    def _gcp_issues(self) -> list[ConfigIssue]:
        """GCP-only rules: the service agents' project number, the ranges, GPUs per machine, maintenance time."""
        found: list[ConfigIssue] = []
        if not self.gcp_project_number:
            found.append(ConfigIssue("gcpProjectNumber", None, "required when cloud is gcp"))
        found.extend(self._gcp_range_issues())
        gpus = gcp_gpus_per_machine(self.gcp_gpu_machine_type)
        if gpus is not None and gpus != self.gpus_per_node:
            found.append(
                ConfigIssue(
                    "gpusPerNode",
                    self.gpus_per_node,
                    f"{self.gcp_gpu_machine_type} always carries {gpus} GPU(s); set gpusPerNode to {gpus}",
                )
            )
        # Every weekday occurs at least four times in any 32 days.
        hours = 4 * len(set(self.gcp_maintenance_days)) * self.gcp_maintenance_hours
        if hours < GKE_MIN_MAINTENANCE_HOURS_PER_32_DAYS:
            found.append(
                ConfigIssue(
                    "gcpMaintenanceHours",
                    self.gcp_maintenance_hours,
                    f"gcpMaintenanceDays x gcpMaintenanceHours leave {hours} hours in 32 days; GKE needs at least "
                    f"{GKE_MIN_MAINTENANCE_HOURS_PER_32_DAYS} (add days or hours)",
                )
            )
        return found

    def _gcp_range_issues(self) -> list[ConfigIssue]:
        named = {
            "gcpSubnetCidr": self.gcp_subnet_cidr,
            "gcpPodsCidr": self.gcp_pods_cidr,
            "gcpServicesCidr": self.gcp_services_cidr,
            "gcpMasterCidr": self.gcp_master_cidr,
            "gcpPrivateServicesCidr": self.gcp_private_services_cidr,
        }
        found = [
            ConfigIssue(second, named[second], f"overlaps {first} ({named[first]}); the VPC's ranges must be disjoint")
            for first, second in gcp_ranges.overlapping_pairs(named)
        ]
        if gcp_ranges.network(self.gcp_master_cidr).prefixlen != gcp_ranges.CONTROL_PLANE_PREFIX:
            found.append(ConfigIssue("gcpMasterCidr", self.gcp_master_cidr, "must be a /28"))
        if gcp_ranges.network(self.gcp_private_services_cidr).prefixlen > gcp_ranges.PRIVATE_SERVICES_MAX_PREFIX:
            found.append(
                ConfigIssue(
                    "gcpPrivateServicesCidr",
                    self.gcp_private_services_cidr,
                    "must be a /24 or larger (Cloud SQL takes a /24 per region)",
                )
            )
        # The pools' maxima plus one surge node per pool while GKE upgrades them.
        needed = self.system_pool_max_nodes + self.gpu_pool_max_nodes + 2
        capacities = {
            "gcpSubnetCidr": gcp_ranges.nodes_in_subnet(self.gcp_subnet_cidr),
            "gcpPodsCidr": gcp_ranges.nodes_in_pods_range(self.gcp_pods_cidr),
        }
        found.extend(
            ConfigIssue(
                range_key,
                named[range_key],
                f"holds {capacity} nodes at {gcp_ranges.MAX_PODS_PER_NODE} pods per node; the pools may need "
                f"{needed} (their maxima plus a surge node each)",
            )
            for range_key, capacity in capacities.items()
            if capacity < needed
        )
        return found
