"""What the first `helm template` of the real charts found, held on the chart output (not only on our values)."""

from __future__ import annotations

from typing import Any

from infra.policy.pod_security_standards import pod_of
from tests.infra.chart_output import RenderCharts
from tests.infra.rendering import Render


def _containers(body: dict[str, Any]) -> list[dict[str, Any]]:
    pod = pod_of(body)
    assert pod is not None
    spec = pod[1]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def test_dcgm_exporter_adds_no_capability_in_the_chart_output(any_render: Render, chart_output: RenderCharts) -> None:
    if "dcgm-exporter" not in chart_output.objects:
        return  # the simulator variant has no GPU
    (daemonset,) = [obj for obj in chart_output.objects["dcgm-exporter"] if obj.kind == "DaemonSet"]
    for container in _containers(daemonset.body):
        assert container["securityContext"]["capabilities"].get("add") in (None, []), any_render.id


def test_tempo_runs_with_restricted_contexts_in_the_chart_output(chart_output: RenderCharts) -> None:
    (statefulset,) = [obj for obj in chart_output.objects["tempo"] if obj.kind == "StatefulSet"]
    pod = statefulset.body["spec"]["template"]["spec"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in _containers(statefulset.body):
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_no_chart_ships_a_helm_test_pod(chart_output: RenderCharts) -> None:
    """`up` never runs `helm test`; a test pod in the output is only something admission would refuse."""
    hooks = [
        str(obj)
        for obj in chart_output.all_objects()
        if "test" in ((obj.body.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    ]
    assert hooks == []
