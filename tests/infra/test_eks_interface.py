"""The ``ClusterInterface`` EksGpuCluster hands the rest of the program, resolved under Pulumi's mocks runtime.

The render shows resources, not the interface object, so this module doubles as its harness:
``python -m tests.infra.test_eks_interface STACK`` declares only the EKS component for the stack's config and
prints the interface's resolved values as JSON. It runs in a process of its own because Pulumi's runtime is global:
one forked from the session's warm render pool (tests/infra/render_pool.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.cluster import AwsNetwork, ClusterInterface, ServiceAccountRef, gpu_scheduling
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from tests.infra.render_pool import WarmPool

STACKS = ("dev", "prod")
HARNESS_TIMEOUT_SECONDS = 240


# --- harness (runs in the subprocess) --------------------------------------------------------------------------
async def _describe(interface: ClusterInterface) -> dict[str, Any]:
    network = interface.network
    assert isinstance(network, AwsNetwork)
    return {
        "cloud": interface.cloud,
        "name": await interface.name.future(),
        "provider": f"{type(interface.provider).__module__}.{type(interface.provider).__name__}",
        "kubeconfig": await interface.kubeconfig.future(),
        "kubeconfig_is_secret": await interface.kubeconfig.is_secret(),
        "gpu": interface.gpu.pod_spec(),
        "model_cache_storage_class": interface.model_cache_storage_class,
        "block_storage_class": interface.block_storage_class,
        "ingress_service_annotations": dict(interface.ingress_service_annotations),
        "bucket_uri": await interface.model_store.bucket_uri.future(),
        "reader": [interface.model_store.reader.namespace, interface.model_store.reader.name],
        "reader_annotations": await interface.model_store.service_account_annotations.future(),
        "zones": list(interface.zones),
        "network": {
            "vpc_id": await network.vpc_id.future(),
            "vpc_cidr": network.vpc_cidr,
            "private_subnet_ids": [await subnet.future() for subnet in network.private_subnet_ids],
            "cluster_security_group_id": await network.cluster_security_group_id.future(),
            "kms_key_arn": await network.kms_key_arn.future(),
        },
        "ready": sorted({type(resource).__name__ for resource in interface.ready}),
        "ready_count": len(interface.ready),
    }


def main(stack: str) -> None:
    from infra.aws.cluster import EksGpuCluster, EksGpuClusterArgs
    from stacks.config import load_stack_config
    from stacks.render.recorder import FabricatingMocks, RecordingMonitor
    from stacks.render.stack_files import load_stack_settings

    settings = load_stack_settings(stack, "aws")
    pulumi.runtime.set_all_config(settings.config, sorted(settings.secret_keys))
    mocks = FabricatingMocks(settings.project, settings.stack)
    pulumi.runtime.set_mocks(
        mocks, project=settings.project, stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )
    built: list[ClusterInterface] = []

    def program() -> None:
        config = load_stack_config()
        naming = Naming(config.stack)
        reader = ServiceAccountRef(naming.namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT)
        built.append(
            EksGpuCluster(
                naming.resource("cluster"), EksGpuClusterArgs.from_config(config.cluster, naming, reader)
            ).interface
        )

    _sync_await(run_pulumi_func(program))
    print(json.dumps(_sync_await(_describe(built[0]))))


# --- tests -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def interfaces(render_pool: WarmPool) -> dict[str, dict[str, Any]]:
    """Each stack's interface, described by this module's harness in warm processes (both at once)."""
    runs = {stack: render_pool.run(f"eks-interface-{stack}", __name__, [stack]) for stack in STACKS}
    return {
        stack: run.result(HARNESS_TIMEOUT_SECONDS).last_json_line(f"EKS harness {stack}") for stack, run in runs.items()
    }


@pytest.fixture(params=STACKS)
def described(request: pytest.FixtureRequest, interfaces: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return request.param, interfaces[request.param]


def test_interface_names_what_later_stages_use(described: tuple[str, dict[str, Any]]) -> None:
    stack, interface = described
    assert interface["cloud"] == "aws"
    assert interface["name"] == f"helpline-{stack}-eks"
    assert interface["provider"] == "pulumi_kubernetes.provider.Provider"
    assert interface["gpu"] == gpu_scheduling().pod_spec()
    assert interface["model_cache_storage_class"] == "model-cache"
    assert interface["block_storage_class"] == "gp3"
    annotations = interface["ingress_service_annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"


def test_workloads_wait_for_nodes_add_ons_storage_and_controllers(described: tuple[str, dict[str, Any]]) -> None:
    stack, interface = described
    assert {"NodeGroup", "Addon", "StorageClass", "MountTarget", "Release"} <= set(interface["ready"])
    assert ("AccessPolicyAssociation" in interface["ready"]) is (stack == "prod"), "prod names its admins"


def test_model_store_is_read_through_the_reader_service_account(described: tuple[str, dict[str, Any]]) -> None:
    stack, interface = described
    assert interface["bucket_uri"].startswith(f"s3://helpline-{stack}-models-")
    assert interface["reader"] == [Naming(stack).namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT]
    (arn,) = interface["reader_annotations"].values()
    assert list(interface["reader_annotations"]) == ["eks.amazonaws.com/role-arn"]
    assert arn.endswith(f":role/helpline-{stack}-model-reader")


def test_network_hands_the_data_tier_private_subnets_the_cluster_group_and_the_key(
    described: tuple[str, dict[str, Any]],
) -> None:
    stack, interface = described
    network = interface["network"]
    zones = ["us-east-1a"] if stack == "dev" else ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert interface["zones"] == zones
    assert network["vpc_cidr"] == ("10.40.0.0/16" if stack == "dev" else "10.60.0.0/16")
    assert len(network["private_subnet_ids"]) == len(zones)
    assert all("private" in subnet for subnet in network["private_subnet_ids"])
    assert network["cluster_security_group_id"].startswith("sg-")
    assert network["kms_key_arn"].startswith("arn:aws:kms:us-east-1:")


def test_kubeconfig_is_a_secret_that_gets_tokens_from_the_aws_cli(described: tuple[str, dict[str, Any]]) -> None:
    stack, interface = described
    assert interface["kubeconfig_is_secret"] is True
    kubeconfig = yaml.safe_load(interface["kubeconfig"])
    assert kubeconfig["current-context"] == f"helpline-{stack}-eks"
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://")
    assert cluster["server"].endswith(".eks.amazonaws.com")
    assert cluster["certificate-authority-data"]
    exec_plugin = kubeconfig["users"][0]["user"]["exec"]
    assert exec_plugin["command"] == "aws"
    assert exec_plugin["args"][2:6] == ["eks", "get-token", "--cluster-name", f"helpline-{stack}-eks"]


if __name__ == "__main__":
    main(sys.argv[1])
