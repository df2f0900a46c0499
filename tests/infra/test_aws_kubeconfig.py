"""Kubeconfig assembly for EKS as a plain function: exec plugin, cluster, endpoint and CA; no credential inside."""

from __future__ import annotations

import json

import pytest
import yaml

from infra.aws.kubeconfig import eks_kubeconfig, eks_kubeconfig_text

ENDPOINT = "https://ABC.gr7.us-east-1.eks.amazonaws.com"
CA = "bW9jay1jYQ=="


def kubeconfig() -> dict:
    return eks_kubeconfig(
        cluster_name="helpline-dev-eks", endpoint=ENDPOINT, certificate_authority_data=CA, region="us-east-1"
    )


def test_one_cluster_one_user_one_current_context() -> None:
    config = kubeconfig()
    assert config["apiVersion"] == "v1"
    assert config["kind"] == "Config"
    assert config["clusters"] == [
        {"name": "helpline-dev-eks", "cluster": {"server": ENDPOINT, "certificate-authority-data": CA}}
    ]
    assert config["contexts"] == [
        {"name": "helpline-dev-eks", "context": {"cluster": "helpline-dev-eks", "user": "helpline-dev-eks"}}
    ]
    assert config["current-context"] == "helpline-dev-eks"


def test_the_user_is_the_aws_cli_token_exec_plugin_for_this_cluster_and_region() -> None:
    (user,) = kubeconfig()["users"]
    exec_plugin = user["user"]["exec"]
    assert exec_plugin["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_plugin["command"] == "aws"
    assert exec_plugin["args"] == [
        "--region", "us-east-1", "eks", "get-token", "--cluster-name", "helpline-dev-eks", "--output", "json"
    ]  # fmt: skip
    assert exec_plugin["interactiveMode"] == "Never"
    assert set(user["user"]) == {"exec"}, "no token, password or client key in the kubeconfig"


def test_the_text_form_is_json_that_yaml_tools_read_back() -> None:
    text = eks_kubeconfig_text(cluster_name="c", endpoint=ENDPOINT, certificate_authority_data=CA, region="eu-west-1")
    assert json.loads(text) == yaml.safe_load(text)
    assert json.loads(text)["users"][0]["user"]["exec"]["args"][1] == "eu-west-1"


@pytest.mark.parametrize(
    ("endpoint", "ca", "message"),
    [
        ("http://insecure", CA, "https URL"),
        ("ABC.gr7.us-east-1.eks.amazonaws.com", CA, "https URL"),
        (ENDPOINT, "", "CA"),
    ],
)
def test_incomplete_cluster_facts_are_refused(endpoint: str, ca: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        eks_kubeconfig(cluster_name="c", endpoint=endpoint, certificate_authority_data=ca, region="us-east-1")
