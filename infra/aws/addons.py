"""EKS managed add-ons: the VPC CNI, kube-proxy, CoreDNS and the EBS and EFS CSI drivers.

Managed add-ons are versioned and patched by EKS for the cluster's Kubernetes minor; each one that calls AWS
gets its own IRSA role trusted only by its own service accounts (least privilege instead of node-wide rights).
They come in two phases: the network add-ons before the node groups (nodes are not Ready without a CNI), the
rest after (CoreDNS and the CSI controllers are Deployments that need nodes to become healthy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.iam import InlinePolicies, OidcIssuer, irsa_role
from infra.aws.iam_policies import ebs_volume_encryption_policy
from infra.cluster import ServiceAccountRef

KUBE_SYSTEM = "kube-system"


@dataclass(frozen=True)
class AddonSpec:
    """One managed add-on and, when it calls AWS, the IRSA role of its service accounts."""

    name: str
    service_accounts: tuple[ServiceAccountRef, ...] = ()
    managed_policies: tuple[str, ...] = ()
    inline_policies: InlinePolicies = field(default_factory=dict)
    configuration: Mapping[str, Any] | None = None

    @property
    def needs_role(self) -> bool:
        return bool(self.service_accounts)


def network_addons() -> list[AddonSpec]:
    """Installed before any node: pod networking (with NetworkPolicy enforcement) and service routing.

    Without ``enableNetworkPolicy`` the VPC CNI ignores NetworkPolicy objects, and every policy the platform
    writes would silently allow everything.
    """
    return [
        AddonSpec(
            "vpc-cni",
            service_accounts=(ServiceAccountRef(KUBE_SYSTEM, "aws-node"),),
            managed_policies=("AmazonEKS_CNI_Policy",),
            configuration={"enableNetworkPolicy": "true"},
        ),
        AddonSpec("kube-proxy"),
    ]


def workload_addons(kms_key_arn: pulumi.Input[str]) -> list[AddonSpec]:
    """Installed once nodes exist: cluster DNS and the two storage drivers."""
    return [
        AddonSpec("coredns"),
        AddonSpec(
            "aws-ebs-csi-driver",
            service_accounts=(ServiceAccountRef(KUBE_SYSTEM, "ebs-csi-controller-sa"),),
            managed_policies=("service-role/AmazonEBSCSIDriverPolicy",),
            inline_policies={
                "encrypt-volumes": pulumi.Output.from_input(kms_key_arn).apply(ebs_volume_encryption_policy)
            },
        ),
        AddonSpec(
            "aws-efs-csi-driver",
            service_accounts=(
                ServiceAccountRef(KUBE_SYSTEM, "efs-csi-controller-sa"),
                ServiceAccountRef(KUBE_SYSTEM, "efs-csi-node-sa"),
            ),
            managed_policies=("service-role/AmazonEFSCSIDriverPolicy",),
        ),
    ]


@dataclass(frozen=True)
class ManagedAddonsArgs:
    cluster_name: pulumi.Input[str]
    name_prefix: str
    issuer: OidcIssuer
    addons: Sequence[AddonSpec]
    #: explicit versions (``awsAddonVersions``); the others take EKS's default for the cluster version
    versions: Mapping[str, str]
    #: what the add-ons wait for (the node groups, for add-ons that run Deployments)
    after: Sequence[pulumi.Resource] = ()


class ManagedAddons(pulumi.ComponentResource):
    addons: dict[str, aws.eks.Addon]

    def __init__(self, name: str, args: ManagedAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:ManagedAddons", name, None, opts)
        self.addons = {}
        for spec in args.addons:
            role_arn: pulumi.Output[str] | None = None
            depends_on: list[pulumi.Resource] = list(args.after)
            if spec.needs_role:
                role = irsa_role(
                    f"{name}-{spec.name}",
                    role_name=f"{args.name_prefix}-{spec.name}",
                    issuer=args.issuer,
                    service_accounts=spec.service_accounts,
                    description=f"IRSA role of the EKS add-on {spec.name}",
                    managed_policies=spec.managed_policies,
                    inline_policies=spec.inline_policies,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                role_arn = role.arn
                depends_on += role.granted
            self.addons[spec.name] = aws.eks.Addon(
                f"{name}-{spec.name}",
                aws.eks.AddonArgs(
                    cluster_name=args.cluster_name,
                    addon_name=spec.name,
                    addon_version=args.versions.get(spec.name),
                    service_account_role_arn=role_arn,
                    configuration_values=None if spec.configuration is None else _json(spec.configuration),
                    resolve_conflicts_on_create="OVERWRITE",
                    resolve_conflicts_on_update="OVERWRITE",
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )
        self.register_outputs({"addons": list(self.addons)})


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
