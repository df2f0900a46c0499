"""``EksGpuCluster``: the AWS GPU cluster, assembled from the modules beside it, returned as a ``ClusterInterface``.

Order matters and is explicit: network add-ons before nodes (no CNI, no Ready node), nodes before the add-ons
and controllers that run Deployments, access entries before anything talks to the Kubernetes API. Every AWS
resource uses the explicit provider for the configured region; nothing depends on ambient AWS configuration
except the credentials themselves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.aws.addons import ManagedAddons, ManagedAddonsArgs, network_addons, workload_addons
from infra.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from infra.aws.control_plane import ControlPlane, ControlPlaneArgs
from infra.aws.kms import ClusterKey
from infra.aws.kubeconfig import eks_kubeconfig_text
from infra.aws.load_balancer import LoadBalancerController, LoadBalancerControllerArgs, nlb_service_annotations
from infra.aws.model_bucket import ModelBucket, ModelBucketArgs
from infra.aws.node_groups import NodeGroups, NodeGroupsArgs, NodePoolSpec, gpu_pool_spec, system_pool_specs
from infra.aws.storage import BLOCK_STORAGE_CLASS, ClusterStorage, ClusterStorageArgs
from infra.aws.subnets import SubnetPlan, plan_subnets
from infra.aws.versions import parse_addon_versions
from infra.aws.vpc import Vpc, VpcArgs
from infra.cluster import MODEL_CACHE_STORAGE_CLASS, AwsNetwork, ClusterInterface, ServiceAccountRef, gpu_scheduling
from infra.naming import Naming
from stacks.config.cluster import ClusterConfig


@dataclass(frozen=True)
class EksGpuClusterArgs:
    """Everything the component needs, decided from the validated config before any resource exists."""

    stack: str
    name_prefix: str
    cluster_name: str
    region: str
    kubernetes_version: str
    subnets: SubnetPlan
    single_nat: bool
    private_endpoint: bool
    api_allowed_cidrs: Sequence[str]
    admin_principal_arns: Sequence[str]
    log_retention_days: int
    addon_versions: Mapping[str, str]
    node_pools: Sequence[NodePoolSpec]
    model_reader: ServiceAccountRef
    #: prod: deletion protection on the cluster, retained EBS volumes, a model bucket that refuses to vanish
    protect_data: bool

    @property
    def zones(self) -> list[str]:
        return [zone.zone for zone in self.subnets.zones]

    @property
    def tags(self) -> dict[str, str]:
        """Tags on every AWS resource (the provider's default tags): who owns it, which stack."""
        return {"helpline-stack": self.stack, "helpline-project": "helpline", "managed-by": "pulumi"}

    @classmethod
    def from_config(cls, config: ClusterConfig, naming: Naming, model_reader: ServiceAccountRef) -> EksGpuClusterArgs:
        if config.cloud != "aws":
            raise ValueError(f"EksGpuCluster needs cloud aws, the stack is configured for {config.cloud}")
        zones = list(config.aws_zones)
        return cls(
            stack=naming.stack,
            name_prefix=naming.prefix,
            cluster_name=naming.resource("eks"),
            region=config.aws_region,
            kubernetes_version=config.kubernetes_version,
            subnets=plan_subnets(config.aws_vpc_cidr, zones),
            single_nat=config.single_nat,
            private_endpoint=config.private_endpoint,
            api_allowed_cidrs=list(config.api_allowed_cidrs),
            admin_principal_arns=list(config.aws_admin_principal_arns),
            log_retention_days=config.aws_log_retention_days,
            addon_versions=parse_addon_versions(config.aws_addon_versions),
            node_pools=[
                *system_pool_specs(
                    instance_type=config.aws_system_instance_type,
                    zones=zones,
                    min_nodes=config.system_pool_min_nodes,
                    max_nodes=config.system_pool_max_nodes,
                ),
                gpu_pool_spec(
                    instance_type=config.aws_gpu_instance_type,
                    zones=zones,
                    min_nodes=config.gpu_pool_min_nodes,
                    max_nodes=config.gpu_pool_max_nodes,
                    spot=config.gpu_capacity == "spot",
                    gpu_type=config.gpu_type,
                    gpus_per_node=config.gpus_per_node,
                ),
            ],
            model_reader=model_reader,
            protect_data=config.is_prod,
        )


class EksGpuCluster(pulumi.ComponentResource):
    interface: ClusterInterface

    def __init__(self, name: str, args: EksGpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:EksGpuCluster", name, None, opts)
        provider = aws.Provider(
            f"{name}-aws",
            aws.ProviderArgs(region=args.region, default_tags=aws.ProviderDefaultTagsArgs(tags=args.tags)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_aws = pulumi.ResourceOptions(parent=self, providers=[provider])
        prefix = args.name_prefix

        key = ClusterKey(
            f"{name}-key",
            alias=args.cluster_name,
            description=f"Helpline {args.stack}: EKS secrets, volumes, models",
            opts=on_aws,
        )
        vpc = Vpc(
            f"{name}-vpc",
            VpcArgs(
                name_prefix=prefix,
                cluster_name=args.cluster_name,
                region=args.region,
                plan=args.subnets,
                single_nat=args.single_nat,
                log_retention_days=args.log_retention_days,
            ),
            opts=on_aws,
        )
        control = ControlPlane(
            f"{name}-control-plane",
            ControlPlaneArgs(
                cluster_name=args.cluster_name,
                name_prefix=prefix,
                kubernetes_version=args.kubernetes_version,
                subnet_ids=vpc.private_subnet_ids,
                kms_key_arn=key.arn,
                private_endpoint=args.private_endpoint,
                public_access_cidrs=args.api_allowed_cidrs,
                admin_principal_arns=args.admin_principal_arns,
                log_retention_days=args.log_retention_days,
                deletion_protection=args.protect_data,
            ),
            opts=on_aws,
        )
        cluster_name = control.cluster.name
        network = ManagedAddons(
            f"{name}-network-addons",
            ManagedAddonsArgs(
                cluster_name=cluster_name,
                name_prefix=prefix,
                issuer=control.issuer,
                addons=network_addons(),
                versions=args.addon_versions,
            ),
            opts=on_aws,
        )
        nodes = NodeGroups(
            f"{name}-nodes",
            NodeGroupsArgs(
                cluster_name=cluster_name,
                name_prefix=prefix,
                kubernetes_version=args.kubernetes_version,
                subnet_by_zone=dict(zip(args.zones, vpc.private_subnet_ids, strict=True)),
                pools=args.node_pools,
                after=[*network.addons.values(), *vpc.egress],
            ),
            opts=on_aws,
        )
        workload = ManagedAddons(
            f"{name}-workload-addons",
            ManagedAddonsArgs(
                cluster_name=cluster_name,
                name_prefix=prefix,
                issuer=control.issuer,
                addons=workload_addons(key.arn),
                versions=args.addon_versions,
                after=nodes.groups,
            ),
            opts=on_aws,
        )

        kubeconfig, kubernetes_provider = self._kubernetes_access(name, args, control)
        # Cluster-level controllers need nodes to run on and DNS to resolve AWS endpoints.
        on_cluster = pulumi.ResourceOptions(
            provider=kubernetes_provider, depends_on=[*nodes.groups, workload.addons["coredns"]]
        )
        storage = ClusterStorage(
            f"{name}-storage",
            ClusterStorageArgs(
                name_prefix=prefix,
                stack=args.stack,
                vpc_id=vpc.vpc.id,
                private_subnet_by_zone=dict(zip(args.zones, vpc.private_subnet_ids, strict=True)),
                cluster_security_group_id=control.security_group_id,
                kms_key_arn=key.arn,
                retain_block_volumes=args.protect_data,
            ),
            kubernetes=pulumi.ResourceOptions(
                provider=kubernetes_provider,
                depends_on=[workload.addons["aws-ebs-csi-driver"], workload.addons["aws-efs-csi-driver"]],
            ),
            opts=on_aws,
        )
        autoscaler = ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=args.cluster_name,
                cluster_arn=control.cluster.arn,
                name_prefix=prefix,
                region=args.region,
                kubernetes_version=args.kubernetes_version,
                issuer=control.issuer,
            ),
            kubernetes=on_cluster,
            opts=on_aws,
        )
        load_balancers = LoadBalancerController(
            f"{name}-load-balancer-controller",
            LoadBalancerControllerArgs(
                cluster_name=args.cluster_name,
                name_prefix=prefix,
                region=args.region,
                stack=args.stack,
                vpc_id=vpc.vpc.id,
                issuer=control.issuer,
            ),
            kubernetes=on_cluster,
            opts=on_aws,
        )
        models = ModelBucket(
            f"{name}-models",
            ModelBucketArgs(
                name_prefix=prefix,
                region=args.region,
                kms_key_arn=key.arn,
                issuer=control.issuer,
                reader=args.model_reader,
                force_destroy=not args.protect_data,
            ),
            opts=on_aws,
        )

        self.interface = ClusterInterface(
            cloud="aws",
            name=cluster_name,
            provider=kubernetes_provider,
            kubeconfig=kubeconfig,
            gpu=gpu_scheduling(),
            model_cache_storage_class=MODEL_CACHE_STORAGE_CLASS,
            block_storage_class=BLOCK_STORAGE_CLASS,
            ingress_service_annotations=nlb_service_annotations(),
            model_store=models.access,
            zones=args.zones,
            network=AwsNetwork(
                vpc_id=vpc.vpc.id,
                vpc_cidr=args.subnets.vpc_cidr,
                private_subnet_ids=vpc.private_subnet_ids,
                cluster_security_group_id=control.security_group_id,
                kms_key_arn=key.arn,
            ),
            ready=[
                *control.access,
                *network.addons.values(),
                *nodes.groups,
                *workload.addons.values(),
                *storage.ready,
                autoscaler.release,
                load_balancers.release,
            ],
        )
        self.register_outputs(
            {
                "cluster_name": cluster_name,
                "endpoint": control.cluster.endpoint,
                "kubeconfig": kubeconfig,
                "model_bucket": models.access.bucket_uri,
                "node_groups": json.dumps([pool.name for pool in args.node_pools]),
            }
        )

    def _kubernetes_access(
        self, name: str, args: EksGpuClusterArgs, control: ControlPlane
    ) -> tuple[pulumi.Output[str], k8s.Provider]:
        """The kubeconfig (a secret: it names the endpoint and CA) and the provider on it, after the access entries."""
        kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(control.cluster.endpoint, control.cluster.certificate_authority.data).apply(
                lambda values: eks_kubeconfig_text(
                    cluster_name=args.cluster_name,
                    endpoint=values[0],
                    certificate_authority_data=values[1] or "",
                    region=args.region,
                )
            )
        )
        provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=kubeconfig, enable_server_side_apply=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=control.access),
        )
        return kubeconfig, provider
