"""The real charts templated with the values every render hands them (``helm template``, chart_output.py)."""

from __future__ import annotations

import pytest

from tests.infra.chart_crds import chart_crd_schemas
from tests.infra.chart_output import Release, RenderCharts, parse_output
from tests.infra.rendering import Render
from tests.infra.schemas import validate_object


def test_every_release_of_every_render_templates_on_its_pinned_chart(
    any_render: Render, chart_output: RenderCharts
) -> None:
    assert chart_output.errors == {}, "\n\n".join(chart_output.errors.values())
    assert set(chart_output.objects) == set(any_render.helm_releases)
    empty = [name for name, objects in chart_output.objects.items() if not objects]
    assert empty == [], f"{any_render.id}: releases whose chart renders nothing: {empty}"


def test_chart_objects_land_in_a_namespace_the_stack_creates_or_kube_system(
    any_render: Render, chart_output: RenderCharts
) -> None:
    namespaces = {m["metadata"]["name"] for m in any_render.objects("Namespace")} | {"kube-system"}
    cluster_scoped = {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "APIService",
        "PriorityClass",
        "GatewayClass",
        "ClusterIssuer",
        "StorageClass",
        "IngressClass",
        "ClusterTriggerAuthentication",
        "NodeFeatureRule",
        "RuntimeClass",
    }
    stray = [
        str(obj)
        for obj in chart_output.all_objects()
        if obj.kind not in cluster_scoped and obj.namespace not in namespaces
    ]
    assert stray == [], f"{any_render.id}: chart objects in a namespace the stack does not create: {stray}"


def test_a_release_is_read_from_the_inputs_the_render_writes() -> None:
    oci = Release.from_inputs(
        {"name": "eg", "chart": "oci://docker.io/envoyproxy/gateway-helm", "version": "v1.9.0", "namespace": "ns"}
    )
    assert (oci.chart, oci.repo, oci.archive_name) == (
        "gateway-helm",
        "oci://docker.io/envoyproxy",
        "gateway-helm-v1.9.0.tgz",
    )
    classic = Release.from_inputs(
        {
            "name": "tempo",
            "chart": "tempo",
            "version": "2.2.4",
            "namespace": "mon",
            "repositoryOpts": {"repo": "https://example.test/charts"},
            "values": {"a": 1},
        }
    )
    assert (classic.repo, classic.values) == ("https://example.test/charts", {"a": 1})


def test_helm_output_is_split_into_objects_with_their_template() -> None:
    text = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# empty\n"
    (obj,) = parse_output("r", "ns", text)
    assert (obj.kind, obj.name, obj.namespace, obj.source) == ("ConfigMap", "a", "ns", "c/templates/a.yaml")


def test_every_chart_object_passes_strict_schema_validation(any_render: Render, chart_output: RenderCharts) -> None:
    """Core kinds for the stack's Kubernetes version; custom resources against their CRD schema (CRDs included)."""
    version = any_render.stack_config.cluster.kubernetes_version
    failures = []
    for obj in chart_output.all_objects():
        try:
            validate_object(obj.body, version)
        except Exception as exc:
            failures.append(f"{obj}: {str(exc).splitlines()[0]}")
    assert failures == [], "\n".join(failures)


def test_crd_schemas_from_the_charts_are_strict() -> None:
    """Envoy Gateway's policy kinds are not in the shared catalog: their CRD comes from the chart, made strict."""
    schemas = chart_crd_schemas()
    assert ("gateway.envoyproxy.io", "clienttrafficpolicy", "v1alpha1") in schemas
    policy = {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "ClientTrafficPolicy",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "g"}]},
    }
    validate_object(policy, "1.34")
    policy["spec"]["timeOut"] = {}
    with pytest.raises(AssertionError, match="timeOut"):
        validate_object(policy, "1.34")
