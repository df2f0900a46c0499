"""The GCP pure helpers: names that fit GCP's limits, IAM members, range maths, and the kubeconfig."""

from __future__ import annotations

import pytest
import yaml

from infra.cluster import ServiceAccountRef
from infra.gcp import kubeconfig, names, principals, ranges
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT, Naming


# --- names ------------------------------------------------------------------------------------------------------
def test_short_names_are_kept_and_long_ones_fitted_deterministically() -> None:
    assert names.fit_name("helpline-dev-nodes", 30) == "helpline-dev-nodes"
    long_name = "helpline-a-very-long-stack-name-nodes"
    fitted = names.fit_name(long_name, 30)
    assert len(fitted) == 30
    assert fitted == names.fit_name(long_name, 30)
    assert fitted == "helpline-a-very-long-st-4f195b"
    assert names.fit_name(long_name + "x", 30) != fitted, "two long names must not collide"


def test_service_account_ids_respect_iam_rules_for_every_stack_length() -> None:
    assert names.service_account_id(Naming("dev"), "nodes") == "helpline-dev-nodes"
    longest = names.service_account_id(Naming("a" * 20), "model-reader")
    assert len(longest) <= names.SERVICE_ACCOUNT_ID_MAX
    assert longest[0].isalpha()
    assert not longest.endswith("-")


def test_model_bucket_name_is_global_by_way_of_the_project_id() -> None:
    assert names.model_bucket_name(Naming("prod"), "helpline-prod") == "helpline-prod-models-helpline-prod"
    fitted = names.model_bucket_name(Naming("s" * 20), "p" * 30)
    assert len(fitted) == names.BUCKET_NAME_MAX


# --- principals -------------------------------------------------------------------------------------------------
def test_workload_identity_member_names_one_namespace_and_service_account() -> None:
    reader = ServiceAccountRef(Naming("dev").namespace("serving"), MODEL_LOADER_SERVICE_ACCOUNT)
    assert principals.workload_identity_member("helpline-dev", reader) == (
        "serviceAccount:helpline-dev.svc.id.goog[helpline-dev-serving/model-loader]"
    )
    assert principals.workload_pool("helpline-dev") == "helpline-dev.svc.id.goog"


def test_service_agents_are_derived_from_the_project_number() -> None:
    assert (
        principals.gke_service_agent("123")
        == "serviceAccount:service-123@container-engine-robot.iam.gserviceaccount.com"
    )
    assert (
        principals.compute_service_agent("123") == "serviceAccount:service-123@compute-system.iam.gserviceaccount.com"
    )
    assert (
        principals.cloud_sql_service_agent("123")
        == "serviceAccount:service-123@gcp-sa-cloud-sql.iam.gserviceaccount.com"
    )
    assert (
        principals.memorystore_service_agent("123") == "serviceAccount:service-123@cloud-redis.iam.gserviceaccount.com"
    )


# --- ranges -----------------------------------------------------------------------------------------------------
def test_overlapping_pairs_name_both_ranges_in_order() -> None:
    named = {"subnet": "10.50.0.0/20", "pods": "10.52.0.0/14", "services": "10.52.0.0/20", "master": "172.16.0.32/28"}
    assert ranges.overlapping_pairs(named) == [("pods", "services")]
    assert ranges.overlapping_pairs({"a": "10.0.0.0/8", "b": "10.1.0.0/16", "c": "10.2.0.0/16"}) == [
        ("a", "b"),
        ("a", "c"),
    ]


@pytest.mark.parametrize(("max_pods", "prefix"), [(110, 24), (64, 25), (32, 26), (8, 28), (256, 23)])
def test_pod_block_is_twice_the_pods_rounded_up_to_a_power_of_two(max_pods: int, prefix: int) -> None:
    assert ranges.pod_block_prefix(max_pods) == prefix


def test_node_capacity_of_the_default_ranges() -> None:
    assert ranges.nodes_in_subnet("10.50.0.0/20") == 4092
    assert ranges.nodes_in_pods_range("10.52.0.0/14") == 1024
    assert ranges.nodes_in_pods_range("10.52.0.0/24") == 1
    assert ranges.nodes_in_pods_range("10.52.0.0/25") == 0


def test_ranges_are_parsed_strictly_and_split_for_reserved_addresses() -> None:
    assert ranges.address_and_prefix("10.58.0.0/20") == ("10.58.0.0", 20)
    with pytest.raises(ValueError, match="host bits"):
        ranges.network("10.58.0.1/20")
    with pytest.raises(ValueError, match="at least 1"):
        ranges.pod_block_prefix(0)


# --- kubeconfig -------------------------------------------------------------------------------------------------
def test_kubeconfig_authenticates_through_the_gcloud_plugin_and_trusts_the_cluster_ca() -> None:
    context = kubeconfig.context_name("helpline-dev", "us-central1-a", "helpline-dev-gke")
    assert context == "gke_helpline-dev_us-central1-a_helpline-dev-gke"
    config = yaml.safe_load(kubeconfig.gke_kubeconfig(context=context, endpoint="10.0.0.2", ca_certificate="Q0E="))
    assert config["current-context"] == context
    (cluster,) = config["clusters"]
    assert cluster == {"name": context, "cluster": {"server": "https://10.0.0.2", "certificate-authority-data": "Q0E="}}
    (user,) = config["users"]
    exec_config = user["user"]["exec"]
    assert exec_config["command"] == "gke-gcloud-auth-plugin"
    assert exec_config["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_config["provideClusterInfo"] is True
    assert set(user["user"]) == {"exec"}, "the file carries no credential, only how to get one"
    assert config["contexts"] == [{"name": context, "context": {"cluster": context, "user": context}}]


def test_kubeconfig_for_the_dns_endpoint_relies_on_the_public_certificate() -> None:
    text = kubeconfig.gke_kubeconfig(context="c", endpoint="https://gke-0123.us-central1.gke.goog", ca_certificate=None)
    cluster = yaml.safe_load(text)["clusters"][0]["cluster"]
    assert cluster == {"server": "https://gke-0123.us-central1.gke.goog"}
