"""GCP stack config rules: each bad value fails before any resource, naming the key and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import parse_stack_config
from stacks.config.cluster import gcp_gpus_per_machine
from tests.infra.stack_values import issues_of as stack_issues

GCP_DEV = {
    "cloud": "gcp",
    "gcpProject": "helpline-dev",
    "gcpProjectNumber": "123456789012",
    "gcpRegion": "us-central1",
    "gcpZones": '["us-central1-a"]',
}


def issues_of(values: dict[str, Any]) -> list[str]:
    return stack_issues({**GCP_DEV, **values})


def test_minimal_gcp_dev_takes_the_defaults() -> None:
    cluster = parse_stack_config("dev", GCP_DEV).cluster
    assert cluster.gcp_private_services_cidr == "10.58.0.0/20"
    assert cluster.gcp_model_cache_tier == "standard"
    assert cluster.gcp_dns_endpoint is False
    assert (cluster.gcp_maintenance_days, cluster.gcp_maintenance_start, cluster.gcp_maintenance_hours) == (
        ["SA", "SU"],
        "02:00",
        8,
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"gcpProjectNumber": ""}, "helpline:gcpProjectNumber = <unset>: required when cloud is gcp"),
        (
            {"gcpProjectNumber": "helpline-dev"},
            "helpline:gcpProjectNumber = 'helpline-dev': must be the numeric project number (for example "
            "123456789012), not the project id",
        ),
        (
            {"gcpServicesCidr": "10.53.0.0/20"},
            "helpline:gcpServicesCidr = '10.53.0.0/20': overlaps gcpPodsCidr (10.52.0.0/14); the VPC's ranges must "
            "be disjoint",
        ),
        (
            {"gcpPrivateServicesCidr": "10.50.8.0/24"},
            "helpline:gcpPrivateServicesCidr = '10.50.8.0/24': overlaps gcpSubnetCidr (10.50.0.0/20); the VPC's "
            "ranges must be disjoint",
        ),
        ({"gcpMasterCidr": "172.16.0.0/27"}, "helpline:gcpMasterCidr = '172.16.0.0/27': must be a /28"),
        (
            {"gcpPrivateServicesCidr": "10.58.0.0/25"},
            "helpline:gcpPrivateServicesCidr = '10.58.0.0/25': must be a /24 or larger (Cloud SQL takes a /24 per "
            "region)",
        ),
        (
            {"gcpPodsCidr": "10.52.0.0/22"},
            "helpline:gcpPodsCidr = '10.52.0.0/22': holds 4 nodes at 110 pods per node; the pools may need 8 (their "
            "maxima plus a surge node each)",
        ),
        (
            {"gcpGpuMachineType": "g2-standard-48"},
            "helpline:gpusPerNode = 1: g2-standard-48 always carries 4 GPU(s); set gpusPerNode to 4",
        ),
        (
            {"gcpMaintenanceDays": '["SU"]', "gcpMaintenanceHours": "6"},
            "helpline:gcpMaintenanceHours = 6: gcpMaintenanceDays x gcpMaintenanceHours leave 24 hours in 32 days; "
            "GKE needs at least 48 (add days or hours)",
        ),
        (
            {"gcpMaintenanceStart": "2am"},
            "helpline:gcpMaintenanceStart = '2am': must be HH:MM in UTC, for example 02:00",
        ),
        (
            {"gcpModelCacheTier": "basic"},
            "helpline:gcpModelCacheTier = 'basic': Input should be 'standard', 'premium', 'zonal' or 'enterprise'",
        ),
    ],
)
def test_bad_gcp_values_are_refused_with_the_reason(values: dict[str, str], expected: str) -> None:
    assert issues_of(values) == [expected]


def test_gcp_rules_do_not_apply_on_aws() -> None:
    config = parse_stack_config(
        "dev",
        {"cloud": "aws", "awsRegion": "us-east-1", "awsZones": '["us-east-1a"]', "gcpMasterCidr": "172.16.0.0/27"},
    )
    assert config.cloud == "aws"


@pytest.mark.parametrize(
    ("machine", "gpus"),
    [
        ("g2-standard-8", 1),
        ("g2-standard-12", 1),
        ("g2-standard-24", 2),
        ("g2-standard-96", 8),
        ("a2-ultragpu-2g", 2),
        ("a3-highgpu-8g", 8),
        ("n1-standard-8", None),
    ],
)
def test_gpus_per_accelerator_optimized_machine(machine: str, gpus: int | None) -> None:
    assert gcp_gpus_per_machine(machine) == gpus


def test_private_api_ranges_are_private_and_only_for_a_private_gke_endpoint() -> None:
    private = {"privateEndpoint": "true", "apiPrivateCidrs": '["10.200.0.0/16"]'}
    assert parse_stack_config("dev", {**GCP_DEV, **private}).cluster.api_private_cidrs == ["10.200.0.0/16"]
    (public,) = issues_of({**private, "apiPrivateCidrs": '["8.8.8.0/24"]'})
    assert public.startswith("helpline:apiPrivateCidrs = ")
    assert "8.8.8.0/24 is not a private range" in public
    assert issues_of({"apiPrivateCidrs": '["10.200.0.0/16"]'}) == [
        "helpline:apiPrivateCidrs = ['10.200.0.0/16']: applies only to gcp with privateEndpoint: true (a public "
        "endpoint takes apiAllowedCidrs; on EKS the private endpoint is reached through the cluster security group)"
    ]
