"""IAM roles the cluster creates: roles for AWS services (EKS, EC2, flow logs) and IRSA roles for pods.

Every role gets its permissions the same way: AWS managed policies by name (their ARN takes the partition of
the role's own ARN) and inline policies from ``iam_policies``, which live and die with the role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.iam_policies import (
    PolicyDocument,
    arn_partition,
    irsa_trust_policy,
    managed_policy_arn,
    service_trust_policy,
    to_json,
)
from infra.cluster import ServiceAccountRef

#: The ServiceAccount annotation the EKS pod identity webhook reads to inject IRSA credentials into pods.
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
#: Inline policies by name; values may depend on other resources' outputs (a bucket ARN, a key ARN).
InlinePolicies = Mapping[str, pulumi.Input[PolicyDocument]]


@dataclass(frozen=True)
class OidcIssuer:
    """The cluster's service-account token issuer and the IAM OIDC provider that trusts it (IRSA)."""

    provider_arn: pulumi.Output[str]
    url: pulumi.Output[str]


def _grant(
    name: str,
    role: aws.iam.Role,
    managed_policies: Sequence[str],
    inline_policies: InlinePolicies,
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    granted: list[pulumi.Resource] = []
    opts = pulumi.ResourceOptions(parent=parent)
    for policy_name in managed_policies:
        granted.append(
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy_name.rsplit('/', 1)[-1]}",
                aws.iam.RolePolicyAttachmentArgs(
                    role=role.name,
                    policy_arn=role.arn.apply(lambda arn, n=policy_name: managed_policy_arn(arn_partition(arn), n)),
                ),
                opts=opts,
            )
        )
    for policy_name, policy in inline_policies.items():
        granted.append(
            aws.iam.RolePolicy(
                f"{name}-{policy_name}",
                aws.iam.RolePolicyArgs(
                    role=role.id, name=policy_name, policy=pulumi.Output.from_input(policy).apply(to_json)
                ),
                opts=opts,
            )
        )
    return granted


class GrantedRole(pulumi.ComponentResource):
    """An IAM role with its trust policy and permissions; ``.granted`` are the attachments (depend on them)."""

    role: aws.iam.Role
    granted: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        *,
        role_name: str,
        description: str,
        trust_policy: pulumi.Input[PolicyDocument],
        managed_policies: Sequence[str] = (),
        inline_policies: InlinePolicies | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("helpline:aws:GrantedRole", name, None, opts)
        self.role = aws.iam.Role(
            name,
            aws.iam.RoleArgs(
                name=role_name,
                description=description,
                assume_role_policy=pulumi.Output.from_input(trust_policy).apply(to_json),
                max_session_duration=3600,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.granted = _grant(name, self.role, managed_policies, inline_policies or {}, self)
        self.register_outputs({"arn": self.role.arn})

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn


def service_role(
    name: str,
    *,
    role_name: str,
    service: str,
    description: str,
    managed_policies: Sequence[str] = (),
    inline_policies: InlinePolicies | None = None,
    tag_session: bool = False,
    opts: pulumi.ResourceOptions | None = None,
) -> GrantedRole:
    """A role an AWS service assumes (``eks.amazonaws.com``, ``ec2.amazonaws.com``, ...)."""
    return GrantedRole(
        name,
        role_name=role_name,
        description=description,
        trust_policy=service_trust_policy(service, tag_session=tag_session),
        managed_policies=managed_policies,
        inline_policies=inline_policies,
        opts=opts,
    )


def irsa_role(
    name: str,
    *,
    role_name: str,
    issuer: OidcIssuer,
    service_accounts: Sequence[ServiceAccountRef],
    description: str,
    managed_policies: Sequence[str] = (),
    inline_policies: InlinePolicies | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> GrantedRole:
    """A role only the named Kubernetes service accounts of this cluster can assume (IAM roles for SAs)."""
    subjects = [account.subject for account in service_accounts]
    trust = pulumi.Output.all(issuer.provider_arn, issuer.url).apply(
        lambda values: irsa_trust_policy(values[0], values[1], subjects)
    )
    return GrantedRole(
        name,
        role_name=role_name,
        description=description,
        trust_policy=trust,
        managed_policies=managed_policies,
        inline_policies=inline_policies,
        opts=opts,
    )


def role_arn_annotation(role_arn: str) -> dict[str, str]:
    """The annotation that binds a Kubernetes ServiceAccount to an IRSA role."""
    return {IRSA_ROLE_ANNOTATION: role_arn}
