"""``EksGpuClusterArgs.from_config``: the committed stacks decide names, subnets and pools before any resource."""

from __future__ import annotations

import pytest

from infra.aws.cluster import EksGpuClusterArgs
from infra.aws.control_plane import access_entry_suffix
from infra.cluster import ServiceAccountRef
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from stacks.config import StackConfig, parse_stack_config
from stacks.render.stack_files import load_stack_settings


def stack_config(stack: str, cloud: str = "aws") -> StackConfig:
    settings = load_stack_settings(stack, cloud)
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    return parse_stack_config(stack, values, {k.split(":", 1)[1] for k in settings.secret_keys})


def args_for(stack: str) -> EksGpuClusterArgs:
    naming = Naming(stack)
    reader = ServiceAccountRef(naming.namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT)
    return EksGpuClusterArgs.from_config(stack_config(stack).cluster, naming, reader)


def test_dev_is_one_zone_with_spot_gpus_that_scale_to_zero() -> None:
    args = args_for("dev")
    assert args.cluster_name == "helpline-dev-eks"
    assert args.zones == ["us-east-1a"]
    assert args.single_nat is True
    assert args.private_endpoint is False
    assert args.protect_data is False
    pools = {pool.name: pool for pool in args.node_pools}
    assert set(pools) == {"system-us-east-1a", "gpu"}
    assert (pools["gpu"].capacity_type, pools["gpu"].min_size, pools["gpu"].max_size) == ("SPOT", 0, 2)
    assert (pools["system-us-east-1a"].min_size, pools["system-us-east-1a"].max_size) == (2, 4)


def test_prod_spreads_system_nodes_over_three_zones_and_keeps_two_on_demand_gpus() -> None:
    args = args_for("prod")
    assert args.zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert args.single_nat is False
    assert args.private_endpoint is True
    assert args.protect_data is True
    system = [pool for pool in args.node_pools if pool.pool == "system"]
    (gpu,) = [pool for pool in args.node_pools if pool.pool == "gpu"]
    assert [pool.zones for pool in system] == [("us-east-1a",), ("us-east-1b",), ("us-east-1c",)]
    assert sum(pool.min_size for pool in system) == 3
    assert sum(pool.max_size for pool in system) == 9
    assert (gpu.capacity_type, gpu.min_size, gpu.max_size, gpu.instance_type) == ("ON_DEMAND", 2, 8, "g6.2xlarge")
    assert args.subnets.vpc_cidr == "10.60.0.0/16"


def test_the_model_reader_is_the_serving_model_loader() -> None:
    assert args_for("prod").model_reader == ServiceAccountRef("helpline-prod-serving", "model-loader")


def test_every_aws_resource_is_tagged_with_its_stack() -> None:
    assert args_for("dev").tags == {"helpline-stack": "dev", "helpline-project": "helpline", "managed-by": "pulumi"}


def test_a_gcp_stack_cannot_build_an_eks_cluster() -> None:
    naming = Naming("dev")
    with pytest.raises(ValueError, match="needs cloud aws"):
        EksGpuClusterArgs.from_config(stack_config("dev", "gcp").cluster, naming, ServiceAccountRef("ns", "sa"))


def test_access_entries_are_named_after_their_principal_so_reordering_replaces_nothing() -> None:
    ci = "arn:aws:iam::123456789012:role/helpline-ci-deploy"
    admin = "arn:aws:iam::123456789012:role/ops/Break_Glass"
    assert access_entry_suffix(ci).startswith("role-helpline-ci-deploy-")
    assert access_entry_suffix(admin).startswith("role-ops-break-glass-")
    assert access_entry_suffix(ci) == access_entry_suffix(ci)
    same_name_other_account = "arn:aws:iam::210987654321:role/helpline-ci-deploy"
    assert access_entry_suffix(ci) != access_entry_suffix(same_name_other_account)
