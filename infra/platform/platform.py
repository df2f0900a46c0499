"""The platform stage: namespaces and isolation, the TLS edge, GPU plumbing, behind one component.

``PlatformArgs.from_config`` turns the validated stack config into typed arguments; later stages read the typed
attributes (namespace names and resources, the edge attachment, the DCGM endpoint) and depend on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from infra.cluster import ClusterInterface
from infra.naming import Concern, Naming
from infra.platform.edge import Edge, EdgeArgs
from infra.platform.gateway_api import EdgeAttachment
from infra.platform.gpu import DcgmEndpoint, GpuPlumbing, GpuPlumbingArgs
from infra.platform.namespaces import Namespaces, NamespacesArgs
from infra.platform.network_baseline import GKE_NODE_LOCAL_DNS, ClusterAddresses
from infra.platform.quotas import QuotaSize
from stacks.config.cluster import ClusterConfig
from stacks.config.platform import PlatformConfig


def cluster_addresses(cluster: ClusterConfig, platform: PlatformConfig) -> ClusterAddresses:
    """Where the API server and the nodes are: config override, else the VPC (EKS) / control-plane range (GKE)."""
    if cluster.cloud == "aws":
        derived_api, nodes = (cluster.aws_vpc_cidr,), (cluster.aws_vpc_cidr,)
    else:
        derived_api, nodes = (cluster.gcp_master_cidr,), (cluster.gcp_subnet_cidr,)
    api = tuple(platform.kubernetes_api_cidrs) or derived_api
    # infra/gcp/control_plane.py turns NodeLocal DNSCache on for every GKE cluster
    node_local_dns = (GKE_NODE_LOCAL_DNS,) if cluster.cloud == "gcp" else ()
    return ClusterAddresses(cloud=cluster.cloud, api_server_cidrs=api, node_cidrs=nodes, node_local_dns=node_local_dns)


def quota_sizes(cluster: ClusterConfig, platform: PlatformConfig) -> dict[Concern, QuotaSize]:
    """Per-namespace quotas from config; GPUs only in serving, as many as the GPU pool can ever hold."""
    max_gpus = cluster.gpu_pool_max_nodes * cluster.gpus_per_node
    return {
        "app": QuotaSize(platform.app_quota_cpu, platform.app_quota_memory_gi),
        "serving": QuotaSize(platform.serving_quota_cpu, platform.serving_quota_memory_gi, gpus=max_gpus),
        "data": QuotaSize(platform.data_quota_cpu, platform.data_quota_memory_gi),
        "monitoring": QuotaSize(platform.monitoring_quota_cpu, platform.monitoring_quota_memory_gi),
        # the edge's load balancer is the only one in the stack
        "ingress": QuotaSize(platform.ingress_quota_cpu, platform.ingress_quota_memory_gi, load_balancers=1),
        "platform": QuotaSize(platform.platform_quota_cpu, platform.platform_quota_memory_gi),
    }


@dataclass(frozen=True)
class PlatformArgs:
    namespaces: NamespacesArgs
    edge: EdgeArgs

    @classmethod
    def from_config(
        cls, cluster: ClusterConfig, platform: PlatformConfig, naming: Naming, interface: ClusterInterface
    ) -> PlatformArgs:
        controller_replicas = 2 if cluster.is_prod else 1
        return cls(
            namespaces=NamespacesArgs(
                naming=naming,
                kubernetes_version=cluster.kubernetes_version,
                quotas=quota_sizes(cluster, platform),
                addresses=cluster_addresses(cluster, platform),
            ),
            edge=EdgeArgs(
                stack=naming.stack,
                gateway_class_name=naming.resource("edge"),
                ingress_namespace=naming.namespace("ingress"),
                app_namespace=naming.namespace("app"),
                hostname=platform.chat_host,
                acme_email=platform.acme_email,
                acme_environment=platform.acme_environment(cluster),
                request_body_limit_kib=platform.request_body_limit_kib,
                stream_timeout_seconds=platform.stream_timeout_seconds,
                proxy_replicas=platform.edge_replicas,
                controller_replicas=controller_replicas,
                load_balancer_annotations=interface.ingress_service_annotations,
            ),
        )


class Platform(pulumi.ComponentResource):
    """Namespaces first (everything else lands in them), then the edge and the GPU plumbing, on the cluster's provider."""

    namespace_names: Mapping[Concern, str]
    namespaces: Mapping[Concern, pulumi.Resource]
    edge: EdgeAttachment
    dcgm: DcgmEndpoint
    #: where the API server and the nodes are, as the network policies name them (monitoring's policies reuse it)
    addresses: ClusterAddresses

    def __init__(
        self, name: str, args: PlatformArgs, cluster: ClusterInterface, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The cluster's provider reaches every child through the component; its readiness is threaded explicitly.
        super().__init__(
            "helpline:platform:Platform",
            name,
            None,
            pulumi.ResourceOptions.merge(pulumi.ResourceOptions(provider=cluster.provider), opts),
        )
        child = pulumi.ResourceOptions(parent=self)
        namespaces = Namespaces("namespaces", args.namespaces, after=cluster.ready, opts=child)
        self.addresses = args.namespaces.addresses
        self.namespace_names = namespaces.names
        self.namespaces = namespaces.resources
        self.edge = Edge(
            "edge", args.edge, after=[namespaces.resources["ingress"], namespaces.resources["app"]], opts=child
        ).attachment
        gpu_args = GpuPlumbingArgs(cluster.cloud, namespaces.names["platform"], cluster.gpu)
        self.dcgm = GpuPlumbing("gpu", gpu_args, after=[namespaces.resources["platform"]], opts=child).dcgm
        self.register_outputs({"namespaces": dict(self.namespace_names), "edgeHostname": self.edge.hostname})
