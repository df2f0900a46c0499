"""Namespaces: one per concern, Pod Security labelled, denied by default, quota'd, on every stack and cloud."""

from __future__ import annotations

from typing import Any

import pytest

from infra.naming import CONCERNS, Naming
from infra.platform.pod_security import POD_SECURITY, exceptions, pod_security_labels
from infra.platform.quotas import QuotaSize, resource_quota
from tests.infra.platform_harness import platform  # noqa: F401  (fixture)
from tests.infra.rendering import ROOT, Render


def names(render: Render) -> dict[str, str]:
    naming = Naming(render.stack)
    return {concern: naming.namespace(concern) for concern in CONCERNS}


def test_one_namespace_per_concern_named_per_stack(platform: Render) -> None:  # noqa: F811
    rendered = {ns["metadata"]["name"] for ns in platform.objects("Namespace")}
    assert set(names(platform).values()) <= rendered


def test_every_namespace_enforces_audits_and_warns_with_a_pinned_version(platform: Render) -> None:  # noqa: F811
    for concern, name in names(platform).items():
        labels = platform.object("Namespace", name)["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert f"pod-security.kubernetes.io/{mode}" in labels, (name, mode)
            assert labels[f"pod-security.kubernetes.io/{mode}-version"].startswith("v1.")
        assert labels["pod-security.kubernetes.io/enforce"] == POD_SECURITY[concern].enforce
        assert labels["pod-security.kubernetes.io/audit"] == "restricted"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_app_serving_data_monitoring_ingress_enforce_restricted(platform: Render) -> None:  # noqa: F811
    for concern in ("app", "serving", "data", "monitoring", "ingress"):
        labels = platform.object("Namespace", names(platform)[concern])["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted", concern


def test_every_exception_has_its_reason_in_code_and_docs() -> None:
    docs = (ROOT / "docs" / "platform.md").read_text()
    assert exceptions() == {"platform": POD_SECURITY["platform"].reason}
    for concern, reason in exceptions().items():
        assert len(reason) > 40
        for agent in ("device plugin", "DCGM", "node-exporter"):
            assert agent in reason
        assert f"`{concern}`" in docs
        assert "privileged" in docs


def test_pod_security_labels_pin_the_version() -> None:
    labels = pod_security_labels("baseline", "1.35")
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.35"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_every_namespace_denies_both_directions_by_default(platform: Render) -> None:  # noqa: F811
    for name in names(platform).values():
        deny = platform.object("NetworkPolicy", "default-deny", name)
        assert deny["spec"] == {"podSelector": {}, "ingress": [], "egress": [], "policyTypes": ["Ingress", "Egress"]}


def quota(render: Render, concern: str) -> dict[str, Any]:
    return render.object("ResourceQuota", "namespace-quota", names(render)[concern])["spec"]["hard"]


def test_every_namespace_has_a_quota_and_container_defaults(platform: Render) -> None:  # noqa: F811
    for name in names(platform).values():
        hard = platform.object("ResourceQuota", "namespace-quota", name)["spec"]["hard"]
        assert {"requests.cpu", "requests.memory", "requests.nvidia.com/gpu", "services.loadbalancers"} <= set(hard)
        (limit,) = platform.object("LimitRange", "container-defaults", name)["spec"]["limits"]
        assert limit["type"] == "Container"
        assert set(limit["defaultRequest"]) == {"cpu", "memory"}


def test_gpus_are_quota_d_to_serving_only_sized_to_the_pool(platform: Render) -> None:  # noqa: F811
    expected = {"dev": 2 * 1, "prod": 8 * 1}[platform.stack]  # gpuPoolMaxNodes x gpusPerNode in the stack files
    for concern in CONCERNS:
        assert quota(platform, concern)["requests.nvidia.com/gpu"] == str(expected if concern == "serving" else 0)


def test_only_the_ingress_namespace_may_hold_a_load_balancer(platform: Render) -> None:  # noqa: F811
    for concern in CONCERNS:
        hard = quota(platform, concern)
        assert hard["services.loadbalancers"] == ("1" if concern == "ingress" else "0"), concern
        if concern != "ingress":
            assert hard["services.nodeports"] == "0"


def test_quotas_are_sized_per_stack(platform: Render) -> None:  # noqa: F811
    expected_serving_cpu = {"dev": "16", "prod": "48"}[platform.stack]
    assert quota(platform, "serving")["requests.cpu"] == expected_serving_cpu


@pytest.mark.parametrize(("size", "nodeports"), [(QuotaSize(1, 2), True), (QuotaSize(1, 2, load_balancers=1), False)])
def test_quota_builder(size: QuotaSize, nodeports: bool) -> None:
    hard = resource_quota("ns", size, {})["spec"]["hard"]
    assert hard["requests.memory"] == "2Gi"
    assert ("services.nodeports" in hard) is nodeports


def test_node_exporter_runs_in_the_node_agents_namespace(platform: Render) -> None:  # noqa: F811
    release = platform.helm_releases.get("kube-prometheus-stack")
    if release is None or not release["values"].get("nodeExporter", {}).get("enabled", True):
        return
    override = release["values"].get("prometheus-node-exporter", {}).get("namespaceOverride")
    assert override == names(platform)["platform"]
