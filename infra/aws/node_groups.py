"""Managed node groups: system nodes (one group per zone) and GPU nodes (one group across the zones).

System groups are per zone because they run pods with EBS volumes (Prometheus, in-cluster databases in dev),
which are zonal: the Cluster Autoscaler can only bring a volume's pod back if it can grow *that zone*, and
``balance-similar-node-groups`` keeps the zones even. The GPU group spans every zone: vLLM's only volume is the
regional EFS model cache, and letting EC2 pick any zone with GPU capacity matters more than zone balance.

Nodes run the EKS-optimised AL2023 AMI (the NVIDIA variant on GPU nodes: driver and container toolkit
included), require IMDSv2 with a hop limit of 1 (pods cannot reach the node's credentials; everything that
calls AWS uses IRSA) and boot from encrypted gp3 volumes.

EKS does not copy node group tags to the Auto Scaling group, so the Cluster Autoscaler's node-template tags
(what a node of a group at zero would look like: labels, taints, GPUs) are put on each ASG with
``aws.autoscaling.Tag``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.aws.iam import GrantedRole, service_role
from infra.cluster import POOL_LABEL, SYSTEM_POOL, gpu_scheduling

#: Label the Cluster Autoscaler's AWS provider reads to know a node has GPUs before the device plugin reports them.
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
NODE_TEMPLATE_PREFIX = "k8s.io/cluster-autoscaler/node-template"
#: Kubernetes taint effect -> the EKS API's spelling.
EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
#: System nodes pull platform images and keep logs; GPU nodes also unpack the multi-GB vLLM image.
SYSTEM_ROOT_VOLUME_GIB = 80
GPU_ROOT_VOLUME_GIB = 200
#: Node role permissions: join the cluster, pull from ECR, and SSM Session Manager instead of SSH.
#: (The VPC CNI's permissions are on its own IRSA role, not on every node.)
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
_GRAVITON_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*$")


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # Kubernetes spelling: NoSchedule, PreferNoSchedule, NoExecute


@dataclass(frozen=True)
class NodePoolSpec:
    """One managed node group as data (the pure part, tested without Pulumi)."""

    name: str
    instance_type: str
    ami_type: str
    capacity_type: str  # ON_DEMAND | SPOT
    min_size: int
    max_size: int
    zones: tuple[str, ...]
    root_volume_gib: int
    labels: Mapping[str, str]
    taints: tuple[Taint, ...] = ()
    #: extended resources a node offers beyond CPU and memory (``nvidia.com/gpu``)
    resources: Mapping[str, str] = field(default_factory=dict)
    #: how many nodes a rolling update may take down at once
    max_unavailable: int = 1

    @property
    def pool(self) -> str:
        """The pool the group belongs to (its ``helpline.io/pool`` label): groups of a pool share a launch template."""
        return self.labels[POOL_LABEL]


def is_graviton(instance_type: str) -> bool:
    """``m7g.xlarge``, ``c6gn.large``, ``g5g.xlarge`` run on Arm; ``g6.xlarge``, ``m7i.large`` do not."""
    return bool(_GRAVITON_FAMILY.match(instance_type.split(".", 1)[0]))


def ami_type(instance_type: str, *, gpu: bool) -> str:
    """The EKS AL2023 AMI type for the instance's architecture; the NVIDIA variant for GPU nodes."""
    architecture = "ARM_64" if is_graviton(instance_type) else "x86_64"
    return f"AL2023_{architecture}_{'NVIDIA' if gpu else 'STANDARD'}"


def eks_taint_effect(effect: str) -> str:
    try:
        return EKS_TAINT_EFFECTS[effect]
    except KeyError:
        raise ValueError(f"unknown taint effect {effect!r}; one of {', '.join(EKS_TAINT_EFFECTS)}") from None


def spread(total: int, buckets: int) -> list[int]:
    """Split ``total`` over ``buckets`` as evenly as possible, larger shares first: ``spread(8, 3) == [3, 3, 2]``."""
    if buckets < 1:
        raise ValueError("need at least one bucket")
    base, extra = divmod(total, buckets)
    return [base + (1 if index < extra else 0) for index in range(buckets)]


def node_template_tags(spec: NodePoolSpec) -> dict[str, str]:
    """ASG tags that let the Cluster Autoscaler build a node of this group when it has none (scale from zero)."""
    tags = {f"{NODE_TEMPLATE_PREFIX}/label/{key}": value for key, value in sorted(spec.labels.items())}
    tags |= {f"{NODE_TEMPLATE_PREFIX}/taint/{t.key}": f"{t.value}:{t.effect}" for t in spec.taints}
    tags |= {f"{NODE_TEMPLATE_PREFIX}/resources/{name}": amount for name, amount in sorted(spec.resources.items())}
    return tags


def system_pool_specs(
    *, instance_type: str, zones: Sequence[str], min_nodes: int, max_nodes: int
) -> list[NodePoolSpec]:
    """One on-demand group per zone; the pool's min/max are split across them."""
    if max_nodes < len(zones):
        raise ValueError(f"systemPoolMaxNodes ({max_nodes}) must be >= the number of zones ({len(zones)})")
    return [
        NodePoolSpec(
            name=f"system-{zone}",
            instance_type=instance_type,
            ami_type=ami_type(instance_type, gpu=False),
            capacity_type="ON_DEMAND",
            min_size=minimum,
            max_size=maximum,
            zones=(zone,),
            root_volume_gib=SYSTEM_ROOT_VOLUME_GIB,
            labels={POOL_LABEL: SYSTEM_POOL},
        )
        for zone, minimum, maximum in zip(
            zones, spread(min_nodes, len(zones)), spread(max_nodes, len(zones)), strict=True
        )
    ]


def gpu_pool_spec(
    *,
    instance_type: str,
    zones: Sequence[str],
    min_nodes: int,
    max_nodes: int,
    spot: bool,
    gpu_type: str,
    gpus_per_node: int,
) -> NodePoolSpec:
    """The GPU group: tainted and labelled exactly as ``infra.cluster.gpu_scheduling()`` expects."""
    scheduling = gpu_scheduling()
    taints = tuple(Taint(t["key"], t["value"], t["effect"]) for t in scheduling.tolerations)
    return NodePoolSpec(
        name="gpu",
        instance_type=instance_type,
        ami_type=ami_type(instance_type, gpu=True),
        capacity_type="SPOT" if spot else "ON_DEMAND",
        min_size=min_nodes,
        max_size=max_nodes,
        zones=tuple(zones),
        root_volume_gib=GPU_ROOT_VOLUME_GIB,
        labels={**scheduling.node_selector, ACCELERATOR_LABEL: gpu_type},
        taints=taints,
        resources={scheduling.resource_name: str(gpus_per_node)},
    )


@dataclass(frozen=True)
class NodeGroupsArgs:
    cluster_name: pulumi.Input[str]
    name_prefix: str
    kubernetes_version: str
    subnet_by_zone: Mapping[str, pulumi.Input[str]]
    pools: Sequence[NodePoolSpec]
    #: what nodes need before they can join: the CNI add-on, egress through NAT
    after: Sequence[pulumi.Resource] = ()


class NodeGroups(pulumi.ComponentResource):
    groups: list[aws.eks.NodeGroup]

    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:NodeGroups", name, None, opts)
        node_role = service_role(
            f"{name}-role",
            role_name=f"{args.name_prefix}-eks-node",
            service="ec2.amazonaws.com",
            description="EKS worker nodes of the Helpline cluster",
            managed_policies=NODE_MANAGED_POLICIES,
            opts=pulumi.ResourceOptions(parent=self),
        )
        templates: dict[str, aws.ec2.LaunchTemplate] = {}
        self.groups = []
        for spec in args.pools:
            template = templates.get(spec.pool)
            if template is None:
                template = templates[spec.pool] = self._launch_template(name, args, spec)
            group = self._node_group(name, args, spec, node_role=node_role, template=template)
            self._autoscaler_tags(name, spec, group)
            self.groups.append(group)
        self.register_outputs({"node_groups": [group.node_group_name for group in self.groups]})

    def _launch_template(self, name: str, args: NodeGroupsArgs, spec: NodePoolSpec) -> aws.ec2.LaunchTemplate:
        """IMDSv2 only, hop limit 1, encrypted gp3 root volume; the AMI and instance type stay on the node group."""
        template_name = f"{args.name_prefix}-{spec.pool}-nodes"
        return aws.ec2.LaunchTemplate(
            f"{name}-{spec.pool}",
            aws.ec2.LaunchTemplateArgs(
                name=template_name,
                description="Helpline EKS nodes: IMDSv2 required, encrypted gp3 root volume",
                update_default_version=True,
                metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                    http_endpoint="enabled",
                    http_tokens="required",
                    http_put_response_hop_limit=1,
                    instance_metadata_tags="disabled",
                ),
                block_device_mappings=[
                    aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                        device_name="/dev/xvda",
                        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                            volume_size=spec.root_volume_gib,
                            volume_type="gp3",
                            encrypted="true",  # the account's EBS key: the ASG service role needs no grant on ours
                            delete_on_termination="true",
                        ),
                    )
                ],
                monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={"Name": template_name})
                    for kind in ("instance", "volume", "network-interface")
                ],
                tags={"Name": template_name},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _node_group(
        self,
        name: str,
        args: NodeGroupsArgs,
        spec: NodePoolSpec,
        *,
        node_role: GrantedRole,
        template: aws.ec2.LaunchTemplate,
    ) -> aws.eks.NodeGroup:
        return aws.eks.NodeGroup(
            f"{name}-{spec.name}",
            aws.eks.NodeGroupArgs(
                cluster_name=args.cluster_name,
                # A prefix, not a fixed name: a change EKS can only apply by replacing the group (instance type,
                # capacity type, subnets) then creates the new group before deleting the old one, without a name
                # clash and without a moment with no nodes. Names are per cluster, so no stack prefix is needed.
                node_group_name_prefix=f"{spec.name}-",
                node_role_arn=node_role.arn,
                subnet_ids=[args.subnet_by_zone[zone] for zone in spec.zones],
                version=args.kubernetes_version,
                ami_type=spec.ami_type,
                capacity_type=spec.capacity_type,
                instance_types=[spec.instance_type],
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=spec.min_size, max_size=spec.max_size, desired_size=spec.min_size
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=spec.max_unavailable),
                labels=dict(spec.labels),
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=eks_taint_effect(t.effect))
                    for t in spec.taints
                ],
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                # EKS replaces nodes that report unhealthy (including NVIDIA XID errors on GPU nodes).
                node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
                tags={"Name": f"{args.name_prefix}-{spec.name}"},
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*node_role.granted, *args.after],
                # The Cluster Autoscaler owns the desired size between min and max; `pulumi up` must not reset it.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _autoscaler_tags(self, name: str, spec: NodePoolSpec, group: aws.eks.NodeGroup) -> None:
        asg_name = group.resources.apply(_first_asg_name)
        for key, value in node_template_tags(spec).items():
            suffix = re.sub(r"[^A-Za-z0-9.]+", "-", key.removeprefix(NODE_TEMPLATE_PREFIX + "/"))
            aws.autoscaling.Tag(
                f"{name}-{spec.name}-{suffix}",
                aws.autoscaling.TagArgs(
                    autoscaling_group_name=asg_name,
                    tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )


def _first_asg_name(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
    for resource in resources:
        for group in resource.autoscaling_groups or []:
            if group.name:
                return group.name
    raise ValueError("the node group reports no Auto Scaling group")
