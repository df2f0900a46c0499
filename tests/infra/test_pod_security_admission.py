"""Pod Security admission, offline: every pod template of a render, ours and the charts', against the level and
version its namespace enforces (the ``pod-security.kubernetes.io/enforce*`` labels the render writes).

Pods that operators create from custom resources (Prometheus, Alertmanager, CloudNativePG, Envoy proxies, ACME
solvers) are not in any manifest; their admission is only provable on a real cluster (README, "Chart output").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from infra.policy.pod_security_standards import Level, check_object, pod_of
from tests.infra.chart_output import RenderCharts
from tests.infra.rendering import Render

ENFORCE = "pod-security.kubernetes.io/enforce"


def enforced_levels(render: Render) -> dict[str, tuple[Level, str]]:
    """namespace -> (level, version) its labels enforce; a namespace without the label enforces privileged."""
    levels: dict[str, tuple[Level, str]] = {}
    for namespace in render.objects("Namespace"):
        labels = namespace["metadata"].get("labels", {})
        levels[namespace["metadata"]["name"]] = (
            labels.get(ENFORCE, "privileged"),
            labels.get(f"{ENFORCE}-version", "latest"),
        )
    return levels


def pod_objects(render: Render, charts: RenderCharts) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(where, namespace, object) for every object that runs a pod: the render's manifests and the charts' output."""
    for manifest in render.manifests:
        if pod_of(manifest) is not None:
            metadata = manifest["metadata"]
            yield f"{manifest['kind']}/{metadata['name']} (ours)", metadata.get("namespace", "default"), manifest
    for obj in charts.all_objects():
        if pod_of(obj.body) is not None:
            yield str(obj), obj.namespace, obj.body


def test_every_pod_is_admitted_by_its_namespace_pod_security_level(
    any_render: Render, chart_output: RenderCharts
) -> None:
    levels = enforced_levels(any_render)
    refused: list[str] = []
    checked = 0
    for where, namespace, obj in pod_objects(any_render, chart_output):
        if namespace not in levels:
            continue  # kube-system and the like: not ours to label (the cluster's own policy applies)
        level, version = levels[namespace]
        checked += 1
        refused += [f"{where} in {namespace} ({level} {version}): {v}" for v in check_object(obj, level, version)]
    assert checked > 20, f"{any_render.id}: only {checked} pod templates found"
    assert refused == [], f"{any_render.id}: pods the namespace's Pod Security level rejects:\n" + "\n".join(refused)


def test_only_the_platform_namespace_is_below_restricted(any_render: Render) -> None:
    """The namespaces' levels themselves: restricted everywhere but the node agents' namespace."""
    below = {name for name, (level, _) in enforced_levels(any_render).items() if level != "restricted"}
    assert below == {f"helpline-{any_render.stack}-platform"}
