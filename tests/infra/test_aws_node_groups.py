"""Node pools as data: AMI types, pool sizes per zone, GPU taint and labels, the autoscaler's node-template tags."""

from __future__ import annotations

import pytest

from infra.aws.node_groups import (
    ACCELERATOR_LABEL,
    NodePoolSpec,
    Taint,
    ami_type,
    eks_taint_effect,
    gpu_pool_spec,
    is_graviton,
    node_template_tags,
    spread,
    system_pool_specs,
)
from infra.cluster import GPU_POOL, GPU_TAINT_KEY, POOL_LABEL, SYSTEM_POOL, gpu_scheduling

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


@pytest.mark.parametrize(
    ("total", "buckets", "expected"),
    [(8, 3, [3, 3, 2]), (9, 3, [3, 3, 3]), (2, 3, [1, 1, 0]), (0, 3, [0, 0, 0]), (4, 1, [4])],
)
def test_spread_is_even_larger_shares_first_and_keeps_the_total(total: int, buckets: int, expected: list[int]) -> None:
    assert spread(total, buckets) == expected
    assert sum(spread(total, buckets)) == total


def test_spread_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="at least one bucket"):
        spread(3, 0)


@pytest.mark.parametrize(
    ("instance_type", "graviton"),
    [("m7g.xlarge", True), ("c6gn.large", True), ("r7gd.2xlarge", True), ("g5g.xlarge", True), ("t4g.small", True),
     ("g6.xlarge", False), ("g6e.2xlarge", False), ("m7i.xlarge", False), ("p5.48xlarge", False), ("p4de.24xlarge", False)],
)  # fmt: skip
def test_graviton_families_are_recognised(instance_type: str, graviton: bool) -> None:
    assert is_graviton(instance_type) is graviton


def test_ami_types_are_al2023_and_nvidia_on_gpu_nodes() -> None:
    assert ami_type("g6.xlarge", gpu=True) == "AL2023_x86_64_NVIDIA"
    assert ami_type("g5g.xlarge", gpu=True) == "AL2023_ARM_64_NVIDIA"
    assert ami_type("m7i.xlarge", gpu=False) == "AL2023_x86_64_STANDARD"
    assert ami_type("m7g.xlarge", gpu=False) == "AL2023_ARM_64_STANDARD"


def test_taint_effects_take_the_eks_spelling() -> None:
    assert eks_taint_effect("NoSchedule") == "NO_SCHEDULE"
    assert eks_taint_effect("NoExecute") == "NO_EXECUTE"
    with pytest.raises(ValueError, match="unknown taint effect"):
        eks_taint_effect("Never")


def test_system_pool_is_one_on_demand_group_per_zone_sharing_min_and_max() -> None:
    specs = system_pool_specs(instance_type="m7i.2xlarge", zones=ZONES, min_nodes=3, max_nodes=8)
    assert [s.zones for s in specs] == [(zone,) for zone in ZONES]
    assert [(s.min_size, s.max_size) for s in specs] == [(1, 3), (1, 3), (1, 2)]
    assert {s.capacity_type for s in specs} == {"ON_DEMAND"}
    assert all(s.labels == {POOL_LABEL: SYSTEM_POOL} and not s.taints for s in specs)
    assert {s.pool for s in specs} == {SYSTEM_POOL}


def test_system_pool_needs_room_for_a_node_in_every_zone() -> None:
    with pytest.raises(ValueError, match="must be >= the number of zones"):
        system_pool_specs(instance_type="m7i.xlarge", zones=ZONES, min_nodes=1, max_nodes=2)


@pytest.mark.parametrize(("spot", "capacity"), [(True, "SPOT"), (False, "ON_DEMAND")])
def test_gpu_pool_is_tainted_and_labelled_as_gpu_scheduling_expects(spot: bool, capacity: str) -> None:
    spec = gpu_pool_spec(
        instance_type="g6.2xlarge",
        zones=ZONES,
        min_nodes=0,
        max_nodes=4,
        spot=spot,
        gpu_type="nvidia-l4",
        gpus_per_node=1,
    )
    scheduling = gpu_scheduling()
    assert spec.capacity_type == capacity
    assert spec.ami_type == "AL2023_x86_64_NVIDIA"
    assert spec.zones == tuple(ZONES), "one group across every zone: EC2 finds GPU capacity wherever it is"
    assert (spec.min_size, spec.max_size) == (0, 4)
    assert spec.taints == (Taint(GPU_TAINT_KEY, "present", "NoSchedule"),)
    assert scheduling.node_selector.items() <= spec.labels.items()
    assert spec.labels == {POOL_LABEL: GPU_POOL, ACCELERATOR_LABEL: "nvidia-l4"}
    assert spec.resources == {"nvidia.com/gpu": "1"}


def test_node_template_tags_describe_a_gpu_node_for_scale_from_zero() -> None:
    spec = gpu_pool_spec(
        instance_type="g6.12xlarge",
        zones=ZONES,
        min_nodes=0,
        max_nodes=2,
        spot=True,
        gpu_type="nvidia-l4",
        gpus_per_node=4,
    )
    assert node_template_tags(spec) == {
        "k8s.io/cluster-autoscaler/node-template/label/helpline.io/pool": "gpu",
        "k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator": "nvidia-l4",
        "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "present:NoSchedule",
        "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "4",
    }


def test_node_template_tags_of_a_plain_pool_are_just_its_labels() -> None:
    spec = NodePoolSpec(
        name="system-a",
        instance_type="m7i.xlarge",
        ami_type="AL2023_x86_64_STANDARD",
        capacity_type="ON_DEMAND",
        min_size=1,
        max_size=2,
        zones=("a",),
        root_volume_gib=80,
        labels={POOL_LABEL: SYSTEM_POOL},
    )
    assert node_template_tags(spec) == {"k8s.io/cluster-autoscaler/node-template/label/helpline.io/pool": "system"}
