"""IAM policy documents as plain functions: who may assume what, and exactly which actions each role gets."""

from __future__ import annotations

import json

import pytest

from infra.aws import iam_policies as policies
from infra.aws.iam import role_arn_annotation

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC123"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123"
CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/helpline-dev-eks"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234"
BUCKET = "arn:aws:s3:::helpline-dev-models-x"


def statements(document: policies.PolicyDocument) -> list[dict]:
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def actions(statement: dict) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


@pytest.mark.parametrize(
    ("arn", "partition"),
    [
        ("arn:aws:iam::123456789012:role/x", "aws"),
        ("arn:aws-cn:eks:cn-north-1:123456789012:cluster/x", "aws-cn"),
        ("arn:aws-us-gov:s3:::bucket", "aws-us-gov"),
    ],
)
def test_partition_comes_from_the_arn(arn: str, partition: str) -> None:
    assert policies.arn_partition(arn) == partition


def test_a_non_arn_is_refused() -> None:
    with pytest.raises(ValueError, match="not an ARN"):
        policies.arn_partition("helpline-dev-eks")


def test_managed_and_access_policy_arns_follow_the_partition() -> None:
    assert (
        policies.managed_policy_arn("aws-cn", "AmazonEKSClusterPolicy")
        == "arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy"
    )
    assert (
        policies.eks_access_policy_arn("aws", "AmazonEKSClusterAdminPolicy")
        == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )


def test_node_group_pattern_covers_only_this_clusters_groups() -> None:
    assert (
        policies.node_group_arn_pattern(CLUSTER_ARN)
        == "arn:aws:eks:us-east-1:123456789012:nodegroup/helpline-dev-eks/*"
    )
    with pytest.raises(ValueError, match="not an EKS cluster ARN"):
        policies.node_group_arn_pattern(BUCKET)


def test_irsa_trust_names_exactly_one_service_account_and_the_sts_audience() -> None:
    (statement,) = statements(policies.irsa_trust_policy(PROVIDER, ISSUER, ["system:serviceaccount:ns:sa"]))
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:ns:sa",
            "oidc.eks.us-east-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
        }
    }
    assert "StringLike" not in statement["Condition"], "no wildcards in IRSA subjects"


def test_irsa_trust_with_several_accounts_lists_them_sorted() -> None:
    (statement,) = statements(
        policies.irsa_trust_policy(PROVIDER, ISSUER, ["system:serviceaccount:b:y", "system:serviceaccount:a:x"])
    )
    subjects = statement["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub"]
    assert subjects == ["system:serviceaccount:a:x", "system:serviceaccount:b:y"]


def test_irsa_trust_without_subject_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one service account"):
        policies.irsa_trust_policy(PROVIDER, ISSUER, [])


def test_service_trust_lets_only_that_service_assume() -> None:
    (statement,) = statements(policies.service_trust_policy("eks.amazonaws.com", tag_session=True))
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    assert actions(statement) == {"sts:AssumeRole", "sts:TagSession"}


def test_cluster_autoscaler_mutates_only_asgs_tagged_as_owned_by_this_cluster() -> None:
    discover, describe_groups, scale = statements(policies.cluster_autoscaler_policy("helpline-dev-eks", CLUSTER_ARN))
    assert all(action.split(":")[1].startswith(("Describe", "Get")) for action in actions(discover))
    assert describe_groups["Resource"] == "arn:aws:eks:us-east-1:123456789012:nodegroup/helpline-dev-eks/*"
    assert actions(scale) == {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    assert scale["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/helpline-dev-eks": "owned"}
    }


def test_model_reader_can_only_list_read_and_decrypt_through_s3() -> None:
    listing, reading, decrypting = statements(policies.model_reader_policy(BUCKET, KEY, "us-east-1"))
    assert (listing["Resource"], actions(listing)) == (BUCKET, {"s3:ListBucket", "s3:GetBucketLocation"})
    assert (reading["Resource"], actions(reading)) == (f"{BUCKET}/*", {"s3:GetObject", "s3:GetObjectVersion"})
    assert (decrypting["Resource"], actions(decrypting)) == (KEY, {"kms:Decrypt"})
    assert decrypting["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    every_action = set().union(*(actions(s) for s in (listing, reading, decrypting)))
    assert not any(action.startswith(("s3:Put", "s3:Delete", "kms:Encrypt")) for action in every_action)


def test_bucket_policy_denies_everything_without_tls() -> None:
    (statement,) = statements(policies.tls_only_bucket_policy(BUCKET))
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Resource"] == [BUCKET, f"{BUCKET}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_file_system_policy_keeps_mount_target_access_and_denies_plain_nfs() -> None:
    allow, deny = statements(
        policies.tls_only_file_system_policy("arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-1")
    )
    assert allow["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_ebs_grants_are_limited_to_aws_resources() -> None:
    grants, use = statements(policies.ebs_volume_encryption_policy(KEY))
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert {grants["Resource"], use["Resource"]} == {KEY}


def test_cluster_role_can_use_the_key_but_not_administer_it() -> None:
    (statement,) = statements(policies.cluster_encryption_policy(KEY))
    assert statement["Resource"] == KEY
    assert not any(
        action.startswith(("kms:Create", "kms:Delete", "kms:Put", "kms:Schedule")) for action in actions(statement)
    )


def test_flow_logs_write_only_to_their_log_group() -> None:
    (statement,) = statements(policies.flow_logs_policy("arn:aws:logs:us-east-1:1:log-group:/aws/vpc/x"))
    assert statement["Resource"] == [
        "arn:aws:logs:us-east-1:1:log-group:/aws/vpc/x",
        "arn:aws:logs:us-east-1:1:log-group:/aws/vpc/x:*",
    ]


def test_load_balancer_controller_policy_is_the_published_one_in_the_right_partition() -> None:
    commercial = policies.load_balancer_controller_policy("aws")
    assert commercial == json.loads(policies.LOAD_BALANCER_CONTROLLER_POLICY_FILE.read_text())
    china = json.dumps(policies.load_balancer_controller_policy("aws-cn"))
    assert '"arn:aws:' not in china
    assert '"arn:aws-cn:elasticloadbalancing:' in china
    # fits an inline role policy (10,240 characters, whitespace excluded)
    assert len(policies.to_json(commercial)) < 10_240


def test_control_plane_logs_every_type() -> None:
    assert set(policies.CONTROL_PLANE_LOG_TYPES) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}


def test_role_annotation_is_what_the_eks_webhook_reads() -> None:
    assert role_arn_annotation("arn:aws:iam::1:role/r") == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}
