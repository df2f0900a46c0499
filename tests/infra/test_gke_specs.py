"""The GKE component's decisions as plain values: placement, maintenance, API access, pools, StorageClasses."""

from __future__ import annotations

import kubernetes_validate
import pytest

from infra.cluster import (
    GPU_POOL,
    MODEL_CACHE_STORAGE_CLASS,
    POOL_LABEL,
    SYSTEM_POOL,
    ServiceAccountRef,
    gpu_scheduling,
)
from infra.gcp.cluster import GkeGpuClusterArgs
from infra.gcp.control_plane import MaintenanceWindow, authorized_networks, placement
from infra.gcp.node_pools import NodePoolSpec, gke_taints, gpu_pool_spec, system_pool_spec
from infra.gcp.storage import block_storage_class, gcp_labels_parameter, model_cache_storage_class
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from stacks.config import parse_stack_config
from stacks.config.cluster import ClusterConfig
from tests.infra.stack_values import PLACEHOLDERS_OK, UNRESOLVED_VLLM_DIGEST_OK

GCP = {"cloud": "gcp", "gcpProject": "p", "gcpProjectNumber": "42", "gcpRegion": "us-central1"}
ZONES = '["us-central1-a", "us-central1-b", "us-central1-c"]'


def gcp_config(stack: str = "dev", **values: str) -> ClusterConfig:
    return parse_stack_config(stack, {**GCP, "gcpZones": '["us-central1-a"]', **values}).cluster


PROD = {
    "environment": "prod",
    "gcpZones": ZONES,
    "gpuCapacity": "on-demand",
    "gpuPoolMinNodes": "2",
    "gpuPoolMaxNodes": "4",
    "privateEndpoint": "true",
    **UNRESOLVED_VLLM_DIGEST_OK,
    **PLACEHOLDERS_OK,
}


# --- placement -----------------------------------------------------------------------------------------------------
def test_zonal_placement_sits_in_the_first_zone_and_lists_only_the_others() -> None:
    zonal = placement(regional=False, region="us-central1", zones=["us-central1-b", "us-central1-c"])
    assert zonal.location == "us-central1-b"
    assert zonal.cluster_node_locations == ["us-central1-c"]
    assert zonal.zones == ("us-central1-b", "us-central1-c")
    assert not zonal.regional


def test_regional_placement_spans_every_zone() -> None:
    regional = placement(regional=True, region="us-central1", zones=["us-central1-a", "us-central1-b"])
    assert regional.location == "us-central1"
    assert regional.cluster_node_locations == ["us-central1-a", "us-central1-b"]
    assert regional.regional
    with pytest.raises(ValueError, match="at least one zone"):
        placement(regional=True, region="us-central1", zones=[])


# --- maintenance window ---------------------------------------------------------------------------------------------
def test_weekend_window_starts_on_a_day_of_the_rule_and_lasts_its_hours() -> None:
    window = MaintenanceWindow(days=("SU", "SA"), start="02:00", hours=8)
    assert window.recurrence == "FREQ=WEEKLY;BYDAY=SA,SU"
    assert window.start_time == "2025-01-11T02:00:00Z"  # the first Saturday after the Monday anchor
    assert window.end_time == "2025-01-11T10:00:00Z"


def test_window_may_cross_midnight() -> None:
    window = MaintenanceWindow(days=("MO",), start="22:30", hours=6)
    assert window.start_time == "2025-01-06T22:30:00Z"
    assert window.end_time == "2025-01-07T04:30:00Z"
    assert window.recurrence == "FREQ=WEEKLY;BYDAY=MO"


# --- API access -------------------------------------------------------------------------------------------------------
def test_private_api_admits_the_node_subnet_and_public_api_the_configured_cidrs() -> None:
    assert authorized_networks(private_endpoint=True, api_allowed_cidrs=["0.0.0.0/0"], node_subnet="10.0.0.0/20") == [
        ("10.0.0.0/20", "node-subnet")
    ]
    assert authorized_networks(
        private_endpoint=False, api_allowed_cidrs=["203.0.113.0/24", "198.51.100.7/32"], node_subnet="10.0.0.0/20"
    ) == [("203.0.113.0/24", "api-allowed-0"), ("198.51.100.7/32", "api-allowed-1")]


def test_a_private_api_also_admits_the_configured_private_ranges() -> None:
    """VPN and CI runner ranges reach prod's private endpoint only when the stack names them (apiPrivateCidrs)."""
    assert authorized_networks(
        private_endpoint=True,
        api_allowed_cidrs=["0.0.0.0/0"],
        node_subnet="10.0.0.0/20",
        api_private_cidrs=["10.200.0.0/16", "172.20.0.0/24"],
    ) == [("10.0.0.0/20", "node-subnet"), ("10.200.0.0/16", "api-private-0"), ("172.20.0.0/24", "api-private-1")]


# --- node pools -----------------------------------------------------------------------------------------------------
def test_gpu_pool_of_a_dev_stack_is_spot_upgraded_in_place_and_may_be_empty() -> None:
    spec = gpu_pool_spec(gcp_config())
    assert spec.name == GPU_POOL
    assert spec.spot
    assert spec.location_policy == "ANY"
    assert (spec.max_surge, spec.max_unavailable) == (0, 1)
    assert spec.min_nodes == 0
    assert spec.initial_nodes_per_zone == 0
    assert spec.labels == {POOL_LABEL: GPU_POOL}
    assert spec.accelerator is not None
    assert (spec.accelerator.type, spec.accelerator.count, spec.accelerator.driver_version) == (
        "nvidia-l4",
        1,
        "LATEST",
    )


def test_gpu_pool_of_a_prod_stack_is_on_demand_balanced_and_surges() -> None:
    spec = gpu_pool_spec(gcp_config("prod", **PROD))
    assert not spec.spot
    assert spec.location_policy == "BALANCED"
    assert (spec.max_surge, spec.max_unavailable) == (1, 0)
    assert spec.min_nodes == 2
    assert spec.initial_nodes_per_zone == 1, "2 nodes over 3 zones: one per zone to start, the autoscaler trims"


def test_system_pool_has_the_system_label_and_no_taint() -> None:
    spec = system_pool_spec(gcp_config(systemPoolMinNodes="3"))
    assert spec.name == SYSTEM_POOL
    assert spec.labels == {POOL_LABEL: SYSTEM_POOL}
    assert spec.taints == ()
    assert spec.accelerator is None
    assert spec.initial_nodes_per_zone == 3


@pytest.mark.parametrize(("minimum", "zones", "per_zone"), [(0, 3, 0), (1, 3, 1), (3, 3, 1), (4, 3, 2), (2, 1, 2)])
def test_initial_size_per_zone_meets_the_total_minimum(minimum: int, zones: int, per_zone: int) -> None:
    spec = NodePoolSpec(
        name="x",
        machine_type="e2-standard-4",
        min_nodes=minimum,
        max_nodes=9,
        spot=False,
        labels={},
        zones=tuple(f"us-central1-{letter}" for letter in "abc"[:zones]),
    )
    assert spec.initial_nodes_per_zone == per_zone
    assert spec.initial_nodes_per_zone * zones >= minimum


def test_gke_taints_follow_the_tolerations_of_gpu_scheduling() -> None:
    (taint,) = gke_taints(gpu_scheduling())
    assert (taint.key, taint.value, taint.effect) == ("nvidia.com/gpu", "present", "NO_SCHEDULE")


# --- args --------------------------------------------------------------------------------------------------------------
def test_args_from_config_decide_placement_protection_and_the_reader() -> None:
    naming = Naming("prod")
    reader = ServiceAccountRef(naming.namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT)
    args = GkeGpuClusterArgs.from_config(gcp_config("prod", **PROD), naming, reader)
    assert args.is_prod
    assert args.control_plane.placement.location == "us-central1"
    assert args.control_plane.deletion_protection
    assert args.control_plane.private_endpoint
    assert args.control_plane.autoscaling_profile == "BALANCED"
    assert args.control_plane.name == "helpline-prod-gke"
    assert args.model_reader == reader
    assert args.resource_labels == {"app": "helpline", "stack": "prod", "environment": "prod", "managed-by": "pulumi"}
    dev = GkeGpuClusterArgs.from_config(gcp_config(), Naming("dev"), reader)
    assert dev.control_plane.placement.location == "us-central1-a"
    assert not dev.control_plane.deletion_protection
    assert dev.control_plane.autoscaling_profile == "OPTIMIZE_UTILIZATION"


# --- StorageClasses ------------------------------------------------------------------------------------------------
def test_storage_classes_are_valid_objects() -> None:
    labels = {"stack": "dev", "app": "helpline"}
    cache = model_cache_storage_class(
        tier="standard", network="vpc", reserved_range="psa", resource_labels=labels, stack="dev"
    )
    block = block_storage_class(
        kms_key="projects/p/locations/r/keyRings/k/cryptoKeys/data",
        resource_labels=labels,
        stack="dev",
        retain_volumes=False,
    )
    for storage_class in (cache, block):
        kubernetes_validate.validate(storage_class, "1.34", strict=True)
        assert storage_class["reclaimPolicy"] == "Delete"
    assert cache["metadata"]["name"] == MODEL_CACHE_STORAGE_CLASS
    assert cache["parameters"]["labels"] == "app=helpline,stack=dev"
    assert block["parameters"]["disk-encryption-kms-key"].endswith("/cryptoKeys/data")


def test_labels_parameter_is_sorted_key_value_pairs() -> None:
    assert gcp_labels_parameter({"b": "2", "a": "1"}) == "a=1,b=2"
    assert gcp_labels_parameter({}) == ""
