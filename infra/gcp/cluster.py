"""``GkeGpuCluster``: the GKE half of the GPU cluster stage, returning the cloud-agnostic ``ClusterInterface``.

It composes the modules of this package in dependency order: the project's APIs, the nodes' service account,
the network, the KMS keys, the control plane, the node pools, the Kubernetes provider, the StorageClasses and
the model bucket. Every Google resource goes through one explicit ``gcp.Provider`` for the configured project
and region (nothing depends on ambient gcloud defaults) that also labels everything with the stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from infra.cluster import (
    MODEL_CACHE_STORAGE_CLASS,
    ClusterInterface,
    GcpNetwork,
    ServiceAccountRef,
    gpu_scheduling,
)
from infra.gcp.apis import ProjectApis
from infra.gcp.control_plane import ControlPlaneSpec, MaintenanceWindow, gke_cluster, placement
from infra.gcp.kms import EncryptionKeys
from infra.gcp.kubeconfig import context_name, gke_kubeconfig
from infra.gcp.model_bucket import ModelStore
from infra.gcp.network import ClusterNetwork, NetworkRanges
from infra.gcp.node_identity import NodeServiceAccount
from infra.gcp.node_pools import NodePoolSpec, gpu_pool_spec, node_pool, system_pool_spec
from infra.gcp.storage import BLOCK_STORAGE_CLASS, block_storage_class, create_storage_class, model_cache_storage_class
from infra.naming import Naming
from stacks.config.cluster import ClusterConfig, Environment

#: What the ingress controller's ``Service type: LoadBalancer`` carries on GKE: a backend-service-based external
#: passthrough Network Load Balancer (regional backend service, health-checked per node, connection draining)
#: instead of the legacy target-pool one. GKE's built-in service controller creates it; nothing to install.
INGRESS_SERVICE_ANNOTATIONS = {"cloud.google.com/l4-rbs": "enabled"}


@dataclass(frozen=True)
class GkeGpuClusterArgs:
    """Everything the component needs, decided from the validated config before any resource exists."""

    naming: Naming
    environment: Environment
    project: str
    project_number: str
    region: str
    control_plane: ControlPlaneSpec
    system_pool: NodePoolSpec
    gpu_pool: NodePoolSpec
    model_cache_tier: str
    model_reader: ServiceAccountRef

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def resource_labels(self) -> dict[str, str]:
        """Labels on every Google resource (cost reports and ownership); GCP label values are lower-case."""
        return {
            "app": self.naming.project,
            "stack": self.naming.stack,
            "environment": self.environment,
            "managed-by": "pulumi",
        }

    @classmethod
    def from_config(cls, cluster: ClusterConfig, naming: Naming, model_reader: ServiceAccountRef) -> GkeGpuClusterArgs:
        ranges = NetworkRanges(
            nodes=cluster.gcp_subnet_cidr,
            pods=cluster.gcp_pods_cidr,
            services=cluster.gcp_services_cidr,
            control_plane=cluster.gcp_master_cidr,
            private_services=cluster.gcp_private_services_cidr,
        )
        control_plane = ControlPlaneSpec(
            name=naming.resource("gke"),
            project=cluster.gcp_project,
            placement=placement(regional=cluster.is_prod, region=cluster.gcp_region, zones=cluster.gcp_zones),
            kubernetes_version=cluster.kubernetes_version,
            release_channel=cluster.gcp_release_channel,
            private_endpoint=cluster.private_endpoint,
            dns_endpoint=cluster.gcp_dns_endpoint,
            api_allowed_cidrs=tuple(cluster.api_allowed_cidrs),
            api_private_cidrs=tuple(cluster.api_private_cidrs),
            ranges=ranges,
            maintenance=MaintenanceWindow(
                days=tuple(cluster.gcp_maintenance_days),
                start=cluster.gcp_maintenance_start,
                hours=cluster.gcp_maintenance_hours,
            ),
            deletion_protection=cluster.is_prod,
            autoscaling_profile="BALANCED" if cluster.is_prod else "OPTIMIZE_UTILIZATION",
        )
        return cls(
            naming=naming,
            environment=cluster.environment,
            project=cluster.gcp_project,
            project_number=cluster.gcp_project_number,
            region=cluster.gcp_region,
            control_plane=control_plane,
            system_pool=system_pool_spec(cluster),
            gpu_pool=gpu_pool_spec(cluster),
            model_cache_tier=cluster.gcp_model_cache_tier,
            model_reader=model_reader,
        )


class GkeGpuCluster(pulumi.ComponentResource):
    """A private, regional-in-prod GKE cluster with a system pool and a GPU pool; see ``.interface``."""

    interface: ClusterInterface

    def __init__(self, name: str, args: GkeGpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:gcp:GkeGpuCluster", name, None, opts)
        naming = args.naming
        provider = gcp.Provider(
            f"{name}-gcp",
            project=args.project,
            region=args.region,
            default_labels=args.resource_labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        apis = ProjectApis(f"{name}-apis", project=args.project, opts=self._google(provider))
        after_apis = self._google(provider, depends_on=apis.services)

        nodes_account = NodeServiceAccount(f"{name}-nodes", naming=naming, project=args.project, opts=after_apis)
        network = ClusterNetwork(
            f"{name}-network",
            naming=naming,
            project=args.project,
            region=args.region,
            ranges=args.control_plane.ranges,
            node_service_account=nodes_account.email,
            opts=after_apis,
        )
        keys = EncryptionKeys(
            f"{name}-keys",
            naming=naming,
            project=args.project,
            project_number=args.project_number,
            region=args.region,
            protect=args.is_prod,
            opts=after_apis,
        )
        cluster = gke_cluster(
            name,
            args.control_plane,
            network=network.network.self_link,
            subnet=network.subnet.self_link,
            secondary_ranges=network.secondary_ranges,
            secrets_key=keys.secrets_key_id,
            node_service_account=nodes_account.email,
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, depends_on=[*apis.services, keys.secrets_grant, *nodes_account.grants]
            ),
        )
        pools = [
            node_pool(
                f"{name}-{spec.name}",
                spec,
                cluster=cluster.name,
                location=cluster.location,
                node_locations=args.control_plane.placement.zones,
                service_account=nodes_account.email,
                boot_disk_kms_key=keys.data_key_id,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, depends_on=[keys.data_grant, *nodes_account.grants]
                ),
            )
            for spec in (args.system_pool, args.gpu_pool)
        ]

        kubeconfig = self._kubeconfig(cluster, args)
        kubernetes = k8s.Provider(f"{name}-kubernetes", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self))
        on_cluster = pulumi.ResourceOptions(parent=self, provider=kubernetes)
        storage_classes = [
            create_storage_class(
                f"{name}-{MODEL_CACHE_STORAGE_CLASS}",
                model_cache_storage_class(
                    tier=args.model_cache_tier,
                    network=network.network.name,
                    reserved_range=network.private_services_range.name,
                    resource_labels=args.resource_labels,
                    stack=naming.stack,
                ),
                pulumi.ResourceOptions.merge(
                    on_cluster, pulumi.ResourceOptions(depends_on=[network.private_services_connection])
                ),
            ),
            create_storage_class(
                f"{name}-{BLOCK_STORAGE_CLASS}",
                block_storage_class(
                    kms_key=keys.data_key_id,
                    resource_labels=args.resource_labels,
                    stack=naming.stack,
                    retain_volumes=args.is_prod,
                ),
                pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[keys.data_grant])),
            ),
        ]
        model_store = ModelStore(
            f"{name}-models",
            naming=naming,
            project=args.project,
            region=args.region,
            reader=args.model_reader,
            force_destroy=not args.is_prod,
            workload_pool_owner=cluster,
            opts=after_apis,
        )

        self.cluster = cluster
        self.interface = ClusterInterface(
            cloud="gcp",
            name=cluster.name,
            provider=kubernetes,
            kubeconfig=kubeconfig,
            gpu=gpu_scheduling(),
            model_cache_storage_class=MODEL_CACHE_STORAGE_CLASS,
            block_storage_class=BLOCK_STORAGE_CLASS,
            ingress_service_annotations=dict(INGRESS_SERVICE_ANNOTATIONS),
            model_store=model_store.access,
            zones=list(args.control_plane.placement.zones),
            network=GcpNetwork(
                network_id=network.network_id,
                network_self_link=network.network_self_link,
                subnet_self_link=network.subnet.self_link,
                kms_key_id=keys.data_key_id,
                project=args.project,
                region=args.region,
            ),
            ready=[*pools, *storage_classes],
        )
        self.register_outputs({"name": cluster.name, "kubeconfig": kubeconfig})

    def _google(self, provider: gcp.Provider, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        """Options for a child component whose Google resources use our provider."""
        return pulumi.ResourceOptions(parent=self, providers={"gcp": provider}, depends_on=list(depends_on))

    @staticmethod
    def _kubeconfig(cluster: gcp.container.Cluster, args: GkeGpuClusterArgs) -> pulumi.Output[str]:
        """The DNS endpoint when enabled (reachable from CI); otherwise the IP endpoint with the cluster's CA.

        Nested outputs are read with ``.get``: they arrive as their typed classes from the engine and as plain
        mappings from the mocks runtime, and both are mappings keyed by the snake_case names.
        """
        spec = args.control_plane
        context = context_name(args.project, spec.placement.location, spec.name)
        if spec.dns_endpoint:
            text = cluster.control_plane_endpoints_config.apply(
                lambda config: gke_kubeconfig(
                    context=context, endpoint=config["dns_endpoint_config"]["endpoint"], ca_certificate=None
                )
            )
        else:
            text = pulumi.Output.all(cluster.endpoint, cluster.master_auth).apply(
                lambda values: gke_kubeconfig(
                    context=context, endpoint=values[0], ca_certificate=values[1].get("cluster_ca_certificate")
                )
            )
        return pulumi.Output.secret(text)
