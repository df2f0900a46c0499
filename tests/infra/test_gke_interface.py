"""The ``ClusterInterface`` GkeGpuCluster hands the rest of the program, resolved under Pulumi's mocks runtime.

The render shows resources, not the interface object, so this module doubles as a small harness:
``python -m tests.infra.test_gke_interface STACK [KEY=VALUE ...]`` declares only the GKE component for the stack's
config (with optional overrides) and prints the interface's resolved values as JSON. It runs in a process of its own
because Pulumi's runtime is global to a process: one forked from the session's warm render pool (render_pool.py).
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

from infra.cluster import ClusterInterface, GcpNetwork, ServiceAccountRef, gpu_scheduling
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming
from tests.infra.render_pool import WarmPool


# --- harness (runs in the subprocess) ------------------------------------------------------------------------------
async def _resolved(output: pulumi.Output[Any]) -> Any:
    return await output.future()


async def _describe(interface: ClusterInterface) -> dict[str, Any]:
    network = interface.network
    assert isinstance(network, GcpNetwork)
    waits_for = {type(resource).__name__ for resource in await network.network_id.resources()}
    return {
        "cloud": interface.cloud,
        "name": await _resolved(interface.name),
        "provider": type(interface.provider).__module__ + "." + type(interface.provider).__name__,
        "kubeconfig": await _resolved(interface.kubeconfig),
        "kubeconfig_is_secret": await interface.kubeconfig.is_secret(),
        "gpu": interface.gpu.pod_spec(),
        "model_cache_storage_class": interface.model_cache_storage_class,
        "block_storage_class": interface.block_storage_class,
        "ingress_service_annotations": dict(interface.ingress_service_annotations),
        "bucket_uri": await _resolved(interface.model_store.bucket_uri),
        "reader": [interface.model_store.reader.namespace, interface.model_store.reader.name],
        "reader_annotations": await _resolved(interface.model_store.service_account_annotations),
        "zones": list(interface.zones),
        "network": {
            "network_id": await _resolved(network.network_id),
            "network_self_link": await _resolved(network.network_self_link),
            "subnet_self_link": await _resolved(network.subnet_self_link),
            "kms_key_id": await _resolved(network.kms_key_id),
            "project": network.project,
            "region": network.region,
            "network_id_waits_for": sorted(waits_for),
        },
        "ready": sorted([(type(r).__name__, (await _resolved(r.urn)).rsplit("::", 1)[-1]) for r in interface.ready]),
    }


def main(argv: list[str]) -> None:
    from infra.gcp.cluster import GkeGpuCluster, GkeGpuClusterArgs
    from stacks.config import load_stack_config
    from stacks.render.recorder import FabricatingMocks, RecordingMonitor
    from stacks.render.stack_files import load_stack_settings

    stack, overrides = argv[0], dict(item.split("=", 1) for item in argv[1:])
    settings = load_stack_settings(stack, "gcp")
    config = {**settings.config, **{f"helpline:{key}": value for key, value in overrides.items()}}
    pulumi.runtime.set_all_config(config, sorted(settings.secret_keys))
    mocks = FabricatingMocks(settings.project, settings.stack)
    pulumi.runtime.set_mocks(
        mocks, project=settings.project, stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )
    built: list[ClusterInterface] = []

    def program() -> None:
        stack_config = load_stack_config()
        naming = Naming(stack_config.stack)
        reader = ServiceAccountRef(naming.namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT)
        args = GkeGpuClusterArgs.from_config(stack_config.cluster, naming, reader)
        built.append(GkeGpuCluster(naming.resource("cluster"), args).interface)

    _sync_await(run_pulumi_func(program))
    print(json.dumps(_sync_await(_describe(built[0]))))


# --- tests -------------------------------------------------------------------------------------------------------------
#: dev as committed; prod with the DNS endpoint on, so one run covers both kubeconfig shapes.
HARNESS_RUNS = {"dev": ("dev",), "prod": ("prod", "gcpDnsEndpoint=true")}


HARNESS_TIMEOUT_SECONDS = 240


@pytest.fixture(scope="module")
def described(render_pool: WarmPool) -> dict[str, dict[str, Any]]:
    """Each stack's interface, described by this module's harness in warm processes (both at once)."""
    runs = {
        stack: render_pool.run(f"gke-interface-{stack}", __name__, list(arguments))
        for stack, arguments in HARNESS_RUNS.items()
    }
    return {
        stack: run.result(HARNESS_TIMEOUT_SECONDS).last_json_line(f"GKE harness {HARNESS_RUNS[stack]}")
        for stack, run in runs.items()
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_interface_names_what_later_stages_use(stack: str, described: dict[str, dict[str, Any]]) -> None:
    naming = Naming(stack)
    interface = described[stack]
    assert interface["cloud"] == "gcp"
    assert interface["name"] == naming.resource("gke")
    assert interface["provider"] == "pulumi_kubernetes.provider.Provider"
    assert interface["gpu"] == gpu_scheduling().pod_spec()
    assert interface["model_cache_storage_class"] == "model-cache"
    assert interface["block_storage_class"] == "pd-balanced-cmek"
    assert interface["ingress_service_annotations"] == {"cloud.google.com/l4-rbs": "enabled"}
    component = naming.resource("cluster")
    assert interface["ready"] == [
        ["NodePool", f"{component}-gpu"],
        ["NodePool", f"{component}-system"],
        ["StorageClass", f"{component}-model-cache"],
        ["StorageClass", f"{component}-pd-balanced-cmek"],
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_model_store_is_read_through_the_reader_service_account(
    stack: str, described: dict[str, dict[str, Any]]
) -> None:
    interface = described[stack]
    project = f"helpline-{stack}"
    assert interface["bucket_uri"] == f"gs://helpline-{stack}-models-{project}"
    assert interface["reader"] == [Naming(stack).namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT]
    assert interface["reader_annotations"] == {
        "iam.gke.io/gcp-service-account": f"helpline-{stack}-model-reader@{project}.iam.gserviceaccount.com"
    }


def test_network_hands_the_data_tier_a_vpc_that_waits_for_private_service_access(
    described: dict[str, dict[str, Any]],
) -> None:
    network = described["prod"]["network"]
    assert network["network_id"] == "projects/helpline-prod/global/networks/helpline-prod-vpc"
    assert network["network_self_link"].endswith("/projects/helpline-prod/global/networks/helpline-prod-vpc")
    assert network["subnet_self_link"].endswith("/regions/us-central1/subnetworks/helpline-prod-nodes")
    assert network["kms_key_id"].endswith("/cryptoKeys/data")
    assert (network["project"], network["region"]) == ("helpline-prod", "us-central1")
    assert "Connection" in network["network_id_waits_for"]
    assert described["prod"]["zones"] == ["us-central1-a", "us-central1-b", "us-central1-c"]


def test_kubeconfig_is_a_secret_for_the_ip_endpoint_with_the_cluster_ca(described: dict[str, dict[str, Any]]) -> None:
    interface = described["dev"]
    assert interface["kubeconfig_is_secret"] is True
    kubeconfig = yaml.safe_load(interface["kubeconfig"])
    context = "gke_helpline-dev_us-central1-a_helpline-dev-gke"
    assert kubeconfig["current-context"] == context
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://10.")
    assert cluster["certificate-authority-data"]
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"


def test_kubeconfig_uses_the_dns_endpoint_when_it_is_enabled(described: dict[str, dict[str, Any]]) -> None:
    interface = described["prod"]
    assert interface["kubeconfig_is_secret"] is True
    cluster = yaml.safe_load(interface["kubeconfig"])["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://gke-")
    assert cluster["server"].endswith(".gke.goog")
    assert "certificate-authority-data" not in cluster, "the DNS endpoint presents a publicly trusted certificate"


if __name__ == "__main__":
    main(sys.argv[1:])
