"""Cluster Autoscaler for the managed node groups, from its maintained Helm chart, with a least-privilege IRSA role.

Why the Cluster Autoscaler and not Karpenter: pool shape (min, max, spot or on-demand, instance type) stays a
plain property of a node group, exactly as it is of a GKE node pool, so both clouds read the same config keys
the same way; EKS manages the groups' AMIs and rolling updates; and scale-from-zero for the GPU group works
with the node-template tags ``node_groups`` puts on the ASGs. See docs/cluster-aws.md for the trade-offs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.aws.iam import IRSA_ROLE_ANNOTATION, OidcIssuer, irsa_role
from infra.aws.iam_policies import cluster_autoscaler_policy
from infra.aws.versions import CLUSTER_AUTOSCALER_CHART, CLUSTER_AUTOSCALER_IMAGE, cluster_autoscaler_image_tag
from infra.cluster import POOL_LABEL, SYSTEM_POOL, ServiceAccountRef
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = ServiceAccountRef(NAMESPACE, "cluster-autoscaler")
#: The distroless image runs as any UID; 65534 (nobody) as the chart's own example.
RUN_AS_UID = 65534
#: Labels EKS puts on nodes that differ between otherwise identical groups (one per zone): ignore them when
#: deciding which groups are "similar" so that ``balance-similar-node-groups`` spreads across zones.
EKS_GROUP_SPECIFIC_LABELS = (
    "eks.amazonaws.com/nodegroup",
    "eks.amazonaws.com/nodegroup-image",
    "eks.amazonaws.com/sourceLaunchTemplateId",
    "eks.amazonaws.com/sourceLaunchTemplateVersion",
)


def discovery_tags(cluster_name: str) -> list[str]:
    """ASG tags the autoscaler discovers groups by; EKS puts both on every managed node group's ASG."""
    return ["k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{cluster_name}"]


def autoscaler_args() -> dict[str, Any]:
    """Scaling behaviour, as the chart's ``extraArgs`` (a ``_N`` suffix lets one flag repeat)."""
    args: dict[str, Any] = {
        "balance-similar-node-groups": True,
        # Cheapest fit: the group whose new node leaves the least CPU/memory idle.
        "expander": "least-waste",
        # Pods with emptyDir (every read-only-root workload has one for /tmp) must not pin nodes forever.
        "skip-nodes-with-local-storage": False,
        # kube-system Deployments (CoreDNS, controllers) have PDBs; they may move when a node is drained.
        "skip-nodes-with-system-pods": False,
        "scale-down-utilization-threshold": "0.5",
        "scale-down-gpu-utilization-threshold": "0.5",
        "scale-down-unneeded-time": "10m",
        "scale-down-delay-after-add": "10m",
        # GPU nodes pull a multi-GB image and load weights; give up on a node only after this.
        "max-node-provision-time": "15m",
        "logtostderr": True,
        "stderrthreshold": "info",
        "v": 2,
    }
    for index, label in enumerate(EKS_GROUP_SPECIFIC_LABELS, start=1):
        args[f"balancing-ignore-label_{index}"] = label
    return args


def cluster_autoscaler_values(
    *, cluster_name: str, region: str, kubernetes_version: str, role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """The chart values: AWS auto-discovery, IRSA, restricted pod security, on the system pool."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name, "tags": discovery_tags(cluster_name)},
        "image": {"repository": CLUSTER_AUTOSCALER_IMAGE, "tag": cluster_autoscaler_image_tag(kubernetes_version)},
        "fullnameOverride": SERVICE_ACCOUNT.name,
        "rbac": {
            "create": True,
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT.name,
                "annotations": {IRSA_ROLE_ANNOTATION: role_arn},
            },
        },
        "extraArgs": autoscaler_args(),
        "replicaCount": 1,  # leader-elected; a second replica would only wait
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
        "podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "securityContext": restricted_pod_security_context(uid=RUN_AS_UID),
        "containerSecurityContext": restricted_container_security_context(),
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "1", "memory": "600Mi"}},
        "serviceMonitor": {"enabled": False},
    }


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: str
    cluster_arn: pulumi.Input[str]
    name_prefix: str
    region: str
    kubernetes_version: str
    issuer: OidcIssuer


class ClusterAutoscaler(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        args: ClusterAutoscalerArgs,
        *,
        kubernetes: pulumi.ResourceOptions,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("helpline:aws:ClusterAutoscaler", name, None, opts)
        role = irsa_role(
            f"{name}-role",
            role_name=f"{args.name_prefix}-cluster-autoscaler",
            issuer=args.issuer,
            service_accounts=[SERVICE_ACCOUNT],
            description="Cluster Autoscaler: resize this cluster's node groups",
            inline_policies={
                "scale-node-groups": pulumi.Output.from_input(args.cluster_arn).apply(
                    lambda arn: cluster_autoscaler_policy(args.cluster_name, arn)
                )
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = k8s.helm.v3.Release(
            CLUSTER_AUTOSCALER_CHART.name,
            k8s.helm.v3.ReleaseArgs(
                name=CLUSTER_AUTOSCALER_CHART.name,
                chart=CLUSTER_AUTOSCALER_CHART.name,
                version=CLUSTER_AUTOSCALER_CHART.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CLUSTER_AUTOSCALER_CHART.repo),
                namespace=NAMESPACE,
                values=cluster_autoscaler_values(
                    cluster_name=args.cluster_name,
                    region=args.region,
                    kubernetes_version=args.kubernetes_version,
                    role_arn=role.arn,
                ),
                atomic=True,
                cleanup_on_fail=True,
            ),
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self, depends_on=role.granted), kubernetes),
        )
        self.register_outputs({"release": self.release.name})
