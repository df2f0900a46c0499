"""Cluster Autoscaler and Load Balancer Controller settings, storage parameters and pinned versions, as plain data."""

from __future__ import annotations

import re

import pytest

from infra.aws import versions
from infra.aws.autoscaler import autoscaler_args, cluster_autoscaler_values, discovery_tags
from infra.aws.load_balancer import load_balancer_controller_values, nlb_service_annotations
from infra.aws.storage import block_storage_parameters, model_cache_parameters
from infra.cluster import POOL_LABEL, SYSTEM_POOL
from stacks.config.cluster import SUPPORTED_KUBERNETES_VERSIONS

ROLE = "arn:aws:iam::123456789012:role/r"


def test_autoscaler_discovers_only_this_clusters_groups() -> None:
    assert discovery_tags("helpline-dev-eks") == [
        "k8s.io/cluster-autoscaler/enabled",
        "k8s.io/cluster-autoscaler/helpline-dev-eks",
    ]


def test_autoscaler_balances_zones_and_lets_nodes_with_emptydir_scale_down() -> None:
    args = autoscaler_args()
    assert args["balance-similar-node-groups"] is True
    assert args["expander"] == "least-waste"
    assert args["skip-nodes-with-local-storage"] is False
    ignored = {value for key, value in args.items() if key.startswith("balancing-ignore-label_")}
    assert {"eks.amazonaws.com/nodegroup", "eks.amazonaws.com/sourceLaunchTemplateId"} <= ignored
    assert {"scale-down-unneeded-time", "scale-down-delay-after-add", "scale-down-utilization-threshold"} <= set(args)


@pytest.mark.parametrize("kubernetes_version", SUPPORTED_KUBERNETES_VERSIONS)
def test_autoscaler_image_minor_matches_the_cluster(kubernetes_version: str) -> None:
    values = cluster_autoscaler_values(
        cluster_name="c", region="us-east-1", kubernetes_version=kubernetes_version, role_arn=ROLE
    )
    assert re.fullmatch(rf"v{re.escape(kubernetes_version)}\.\d+", values["image"]["tag"])


def test_autoscaler_values_use_irsa_and_run_restricted_on_system_nodes() -> None:
    values = cluster_autoscaler_values(cluster_name="c", region="eu-west-1", kubernetes_version="1.34", role_arn=ROLE)
    assert values["cloudProvider"] == "aws"
    assert values["awsRegion"] == "eu-west-1"
    assert values["rbac"]["serviceAccount"] == {
        "create": True,
        "name": "cluster-autoscaler",
        "annotations": {"eks.amazonaws.com/role-arn": ROLE},
    }
    assert values["nodeSelector"] == {POOL_LABEL: SYSTEM_POOL}
    assert values["securityContext"]["runAsNonRoot"] is True
    assert values["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert set(values["resources"]) == {"requests", "limits"}


def test_an_unpinned_kubernetes_minor_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("no Cluster Autoscaler release pinned for Kubernetes 1.20")):
        versions.cluster_autoscaler_image_tag("1.20")


def test_every_supported_kubernetes_minor_has_an_autoscaler() -> None:
    assert set(SUPPORTED_KUBERNETES_VERSIONS) <= set(versions.CLUSTER_AUTOSCALER_IMAGE_TAGS)


def test_nlb_annotations_make_an_internet_facing_nlb_with_ip_targets() -> None:
    annotations = nlb_service_annotations()
    prefix = "service.beta.kubernetes.io/aws-load-balancer-"
    assert annotations[f"{prefix}type"] == "external"
    assert annotations[f"{prefix}nlb-target-type"] == "ip"
    assert annotations[f"{prefix}scheme"] == "internet-facing"
    assert "load_balancing.cross_zone.enabled=true" in annotations[f"{prefix}attributes"]
    assert all(isinstance(value, str) for value in annotations.values())


def test_load_balancer_controller_gets_region_and_vpc_and_claims_no_service_by_default() -> None:
    values = load_balancer_controller_values(
        cluster_name="c", region="us-east-1", vpc_id="vpc-1", role_arn=ROLE, stack="dev"
    )
    assert (values["clusterName"], values["region"], values["vpcId"]) == ("c", "us-east-1", "vpc-1")
    assert values["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    assert values["enableServiceMutatorWebhook"] is False
    assert values["createIngressClassResource"] is False
    assert values["image"]["tag"] == versions.LOAD_BALANCER_CONTROLLER_IMAGE_TAG
    assert values["replicaCount"] >= 2
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}


def test_charts_are_pinned_to_exact_versions_from_their_official_repositories() -> None:
    assert versions.CLUSTER_AUTOSCALER_CHART.repo == "https://kubernetes.github.io/autoscaler"
    assert versions.LOAD_BALANCER_CONTROLLER_CHART.repo == "https://aws.github.io/eks-charts"
    for chart in (versions.CLUSTER_AUTOSCALER_CHART, versions.LOAD_BALANCER_CONTROLLER_CHART):
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart.version)


def test_block_storage_is_gp3_encrypted_with_the_cluster_key() -> None:
    assert block_storage_parameters("arn:aws:kms:us-east-1:1:key/k", "dev") == {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
        "csi.storage.k8s.io/fstype": "ext4",
        "tagSpecification_1": "helpline-stack=dev",
    }


def test_model_cache_provisions_efs_access_points() -> None:
    assert model_cache_parameters("fs-123") == {
        "provisioningMode": "efs-ap",
        "fileSystemId": "fs-123",
        "directoryPerms": "700",
        "basePath": "/model-cache",
    }


def test_addon_pins_parse_into_a_mapping() -> None:
    assert versions.parse_addon_versions([" coredns = v1.12.1-eksbuild.2", "vpc-cni=v1.20.0-eksbuild.1"]) == {
        "coredns": "v1.12.1-eksbuild.2",
        "vpc-cni": "v1.20.0-eksbuild.1",
    }
    assert versions.parse_addon_versions([]) == {}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["coredns"], "not of the form <add-on>=<version>"),
        (["coredns="], "not of the form"),
        (["karpenter=v1"], "'karpenter' is not an add-on this cluster installs"),
        (["coredns=v1", "coredns=v2"], "'coredns' is pinned twice"),
    ],
)
def test_bad_addon_pins_are_refused(entries: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        versions.parse_addon_versions(entries)
