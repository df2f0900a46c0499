"""The EKS control plane: cluster role, audit-grade logging, KMS envelope encryption, access entries, IRSA.

Authentication is access entries only (``API``): who administers the cluster is a reviewed list in config
(``awsAdminPrincipalArns``), not an ``aws-auth`` ConfigMap anyone with cluster-admin can edit. The API endpoint
is private-only in prod; in dev it is public but restricted to ``apiAllowedCidrs`` (nodes always use the private
endpoint).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.iam import OidcIssuer, service_role
from infra.aws.iam_policies import (
    CONTROL_PLANE_LOG_TYPES,
    STS_AUDIENCE,
    arn_partition,
    cluster_encryption_policy,
    eks_access_policy_arn,
)
from infra.aws.subnets import KUBERNETES_SERVICE_CIDR

CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"


def access_entry_suffix(principal_arn: str) -> str:
    """A stable resource name per principal (``role-ci-deploy-1a2b3c4d``): reordering the list replaces nothing."""
    kind_and_name = principal_arn.split(":", 5)[-1]
    slug = re.sub(r"[^a-z0-9]+", "-", kind_and_name.lower()).strip("-")
    return f"{slug[:40]}-{hashlib.sha256(principal_arn.encode()).hexdigest()[:8]}"


def _cluster_security_group(vpc_config: aws.eks.outputs.ClusterVpcConfig) -> str:
    if not vpc_config.cluster_security_group_id:
        raise ValueError("the EKS cluster reports no cluster security group")
    return vpc_config.cluster_security_group_id


def _oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    """The cluster's service-account token issuer URL (EKS has exactly one)."""
    for identity in identities:
        for oidc in identity.oidcs or []:
            if oidc.issuer:
                return oidc.issuer
    raise ValueError("the EKS cluster reports no OIDC issuer")


@dataclass(frozen=True)
class ControlPlaneArgs:
    cluster_name: str
    name_prefix: str
    kubernetes_version: str
    subnet_ids: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    private_endpoint: bool
    public_access_cidrs: Sequence[str]
    admin_principal_arns: Sequence[str]
    log_retention_days: int
    deletion_protection: bool


class ControlPlane(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    issuer: OidcIssuer
    #: access entries and their policy associations: nothing may talk to the API before they exist
    access: list[pulumi.Resource]

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:ControlPlane", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = service_role(
            f"{name}-role",
            role_name=f"{args.name_prefix}-eks-cluster",
            service="eks.amazonaws.com",
            tag_session=True,
            description="EKS control plane of the Helpline cluster",
            managed_policies=["AmazonEKSClusterPolicy"],
            inline_policies={
                "encrypt-secrets": pulumi.Output.from_input(args.kms_key_arn).apply(cluster_encryption_policy)
            },
            opts=child,
        )
        # Created before the cluster so that retention applies from the first line (EKS would create it unbounded).
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            aws.cloudwatch.LogGroupArgs(
                name=f"/aws/eks/{args.cluster_name}/cluster", retention_in_days=args.log_retention_days
            ),
            opts=child,
        )
        self.cluster = aws.eks.Cluster(
            name,
            aws.eks.ClusterArgs(
                name=args.cluster_name,
                version=args.kubernetes_version,
                role_arn=role.arn,
                vpc_config=aws.eks.ClusterVpcConfigArgs(
                    subnet_ids=list(args.subnet_ids),
                    endpoint_private_access=True,
                    endpoint_public_access=not args.private_endpoint,
                    public_access_cidrs=None if args.private_endpoint else list(args.public_access_cidrs),
                ),
                access_config=aws.eks.ClusterAccessConfigArgs(
                    authentication_mode="API",
                    # Only when no admin is listed: then whoever creates the cluster can still administer it.
                    # EKS reads this once, at creation; later changes are ignored below rather than replacing it.
                    bootstrap_cluster_creator_admin_permissions=not args.admin_principal_arns,
                ),
                encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                    resources=["secrets"],
                    provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.kms_key_arn),
                ),
                enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
                kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                    service_ipv4_cidr=KUBERNETES_SERVICE_CIDR, ip_family="ipv4"
                ),
                # The VPC CNI, kube-proxy and CoreDNS come as managed add-ons (versioned, IRSA-enabled) instead.
                bootstrap_self_managed_addons=False,
                upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
                zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=len(args.subnet_ids) > 1),
                deletion_protection=args.deletion_protection,
                tags={"Name": args.cluster_name},
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[log_group, *role.granted],
                ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"],
            ),
        )
        issuer_url = self.cluster.identities.apply(_oidc_issuer)
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            aws.iam.OpenIdConnectProviderArgs(
                url=issuer_url, client_id_lists=[STS_AUDIENCE], tags={"Name": f"{args.cluster_name}-irsa"}
            ),
            opts=child,
        )
        self.issuer = OidcIssuer(provider_arn=provider.arn, url=issuer_url)
        self.access = self._admins(name, args)
        self.register_outputs({"name": self.cluster.name, "endpoint": self.cluster.endpoint})

    def _admins(self, name: str, args: ControlPlaneArgs) -> list[pulumi.Resource]:
        """One access entry per admin principal, with the cluster-admin access policy at cluster scope."""
        created: list[pulumi.Resource] = []
        policy_arn = self.cluster.arn.apply(
            lambda arn: eks_access_policy_arn(arn_partition(arn), CLUSTER_ADMIN_ACCESS_POLICY)
        )
        for principal in args.admin_principal_arns:
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{access_entry_suffix(principal)}",
                aws.eks.AccessEntryArgs(cluster_name=self.cluster.name, principal_arn=principal, type="STANDARD"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{access_entry_suffix(principal)}",
                aws.eks.AccessPolicyAssociationArgs(
                    cluster_name=self.cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=policy_arn,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            created += [entry, association]
        return created

    @property
    def security_group_id(self) -> pulumi.Output[str]:
        """The security group EKS creates for the control plane and attaches to every managed node."""
        return self.cluster.vpc_config.apply(_cluster_security_group)
