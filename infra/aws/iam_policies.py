"""IAM policy documents as plain data: every trust and permission the cluster grants, tested as functions.

ARNs are built from other resources' ARNs (their partition, account and region), never from a data-source
lookup, so the program needs no invoke and the documents are exact in any partition (aws, aws-cn, aws-us-gov).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

PolicyDocument = dict[str, Any]

VERSION = "2012-10-17"
#: The audience IRSA tokens carry (the EKS pod identity webhook's default).
STS_AUDIENCE = "sts.amazonaws.com"
#: The AWS Load Balancer Controller's published policy, kept verbatim as data. Source:
#: kubernetes-sigs/aws-load-balancer-controller, tag v3.5.0, docs/install/iam_policy.json (commercial partition).
LOAD_BALANCER_CONTROLLER_POLICY_FILE = Path(__file__).with_name("policies") / "aws-load-balancer-controller.json"
#: The five EKS control-plane log types; all are enabled (audit and authenticator are the ones incidents need).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def document(*statements: PolicyDocument) -> PolicyDocument:
    return {"Version": VERSION, "Statement": list(statements)}


def to_json(policy: PolicyDocument) -> str:
    """Compact JSON: IAM counts characters against its size limits."""
    return json.dumps(policy, separators=(",", ":"))


# --- ARNs --------------------------------------------------------------------------------------------------
def arn_partition(arn: str) -> str:
    """``arn:aws-cn:iam::1:role/x`` -> ``aws-cn``."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]


def managed_policy_arn(partition: str, name: str) -> str:
    """An AWS managed IAM policy in the partition, e.g. ``AmazonEKSClusterPolicy``."""
    return f"arn:{partition}:iam::aws:policy/{name}"


def eks_access_policy_arn(partition: str, name: str) -> str:
    """An EKS access policy (not IAM), e.g. ``AmazonEKSClusterAdminPolicy``."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


def node_group_arn_pattern(cluster_arn: str) -> str:
    """Every node group of the cluster: ``arn:...:cluster/<name>`` -> ``arn:...:nodegroup/<name>/*``."""
    prefix, separator, name = cluster_arn.partition(":cluster/")
    if not separator or not name:
        raise ValueError(f"not an EKS cluster ARN: {cluster_arn!r}")
    return f"{prefix}:nodegroup/{name}/*"


def issuer_host(issuer_url: str) -> str:
    """IAM condition keys name the OIDC issuer without its scheme."""
    return issuer_url.removeprefix("https://")


# --- trust policies ----------------------------------------------------------------------------------------
def service_trust_policy(service: str, *, tag_session: bool = False) -> PolicyDocument:
    """Let an AWS service (``eks.amazonaws.com``, ``ec2.amazonaws.com``, ...) assume the role."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": actions})


def irsa_trust_policy(oidc_provider_arn: str, issuer_url: str, subjects: Sequence[str]) -> PolicyDocument:
    """IRSA: only tokens for exactly these service accounts (``system:serviceaccount:<ns>:<name>``) qualify."""
    if not subjects:
        raise ValueError("an IRSA role needs at least one service account subject")
    host = issuer_host(issuer_url)
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{host}:sub": subjects[0] if len(subjects) == 1 else sorted(subjects),
                    f"{host}:aud": STS_AUDIENCE,
                }
            },
        }
    )


# --- permission policies -----------------------------------------------------------------------------------
def cluster_encryption_policy(kms_key_arn: str) -> PolicyDocument:
    """What the EKS cluster role needs to envelope-encrypt Secrets with the cluster key."""
    return document(
        {
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
            "Resource": kms_key_arn,
        }
    )


def ebs_volume_encryption_policy(kms_key_arn: str) -> PolicyDocument:
    """What the EBS CSI controller needs on top of its managed policy to create volumes with our key.

    Grants are limited to AWS resources (EC2 attaching the volume), as the EBS CSI driver's docs prescribe.
    """
    return document(
        {
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": kms_key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": kms_key_arn,
        },
    )


def cluster_autoscaler_policy(cluster_name: str, cluster_arn: str) -> PolicyDocument:
    """Cluster Autoscaler with ASG auto-discovery, least privilege.

    Reads are global (the Describe APIs do not support resource scoping). The two mutating actions only apply
    to ASGs carrying ``k8s.io/cluster-autoscaler/<cluster>=owned`` (EKS sets it on every managed node group's
    ASG), so the autoscaler cannot resize another cluster's or anyone else's groups. ``DescribeNodegroup`` is
    scoped to this cluster's node groups.
    """
    return document(
        {
            "Sid": "Discover",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ReadOwnNodeGroups",
            "Effect": "Allow",
            "Action": "eks:DescribeNodegroup",
            "Resource": node_group_arn_pattern(cluster_arn),
        },
        {
            "Sid": "ScaleOwnGroupsOnly",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
        },
    )


def model_reader_policy(bucket_arn: str, kms_key_arn: str, region: str) -> PolicyDocument:
    """Read-only access to the model bucket; the key may decrypt only on behalf of S3 in the region."""
    return document(
        {
            "Sid": "ListModels",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadModels",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{bucket_arn}/*",
        },
        {
            "Sid": "DecryptModels",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    )


def tls_only_bucket_policy(bucket_arn: str) -> PolicyDocument:
    """Refuse every request to the bucket that does not arrive over TLS."""
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def tls_only_file_system_policy(file_system_arn: str) -> PolicyDocument:
    """EFS's default access (clients through a mount target) plus a refusal of unencrypted NFS.

    A file system policy replaces the implicit default, so the allow statement restates it; the deny is what
    "enforce in-transit encryption" adds.
    """
    return document(
        {
            "Sid": "MountThroughMountTargets",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "elasticfilesystem:ClientMount",
                "elasticfilesystem:ClientWrite",
                "elasticfilesystem:ClientRootAccess",
            ],
            "Resource": file_system_arn,
            "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": file_system_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


def flow_logs_policy(log_group_arn: str) -> PolicyDocument:
    """What VPC Flow Logs need to write into their own log group (and nothing else)."""
    return document(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }
    )


@cache
def _published_load_balancer_controller_policy() -> str:
    return LOAD_BALANCER_CONTROLLER_POLICY_FILE.read_text()


def load_balancer_controller_policy(partition: str) -> PolicyDocument:
    """The controller's published policy, with its ARNs moved to ``partition``.

    Upstream publishes per-partition copies that differ from the commercial one only in the ARN prefix.
    """
    text = _published_load_balancer_controller_policy()
    return json.loads(text.replace('"arn:aws:', f'"arn:{partition}:'))
