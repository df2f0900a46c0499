"""The policy pack's rules over the charts' output, together with the render's own resources (so stack rules such as
"claims use declared storage classes" see the stack's StorageClasses).

In a real preview CrossGuard sees a Helm release as one resource, never the chart's objects; this test is where the
pack's rules reach them. Two rules are held elsewhere for chart output: ``images-pinned-by-digest`` by
test_chart_images.py (tag-only images listed with how to pin them), and ``no-host-namespaces-or-privileged`` in the
platform namespace, which enforces Pod Security ``privileged`` for the node agents by design
(infra/platform/pod_security.py; test_pod_security_admission.py holds every other namespace to its level).
``probes-and-limits`` is not yet applied to chart output: the charts' sidecars and jobs set no CPU limits (README,
"Chart output").
"""

from __future__ import annotations

from infra.policy.model import Resource
from tests.infra.chart_output import RenderCharts
from tests.infra.rendering import Render
from tests.infra.test_policy import evaluate_all, k8s, resources_of

HELD_ELSEWHERE = frozenset({"images-pinned-by-digest", "probes-and-limits"})


def test_the_pack_passes_on_the_chart_output(any_render: Render, chart_output: RenderCharts) -> None:
    platform = f"helpline-{any_render.stack}-platform"
    chart_resources: list[Resource] = []
    for obj in chart_output.all_objects():
        body = {**obj.body, "metadata": {**(obj.body.get("metadata") or {}), "namespace": obj.namespace}}
        chart_resources.append(k8s(body))
    violations = [
        violation
        for violation in evaluate_all([*resources_of(any_render), *chart_resources], any_render.stack)
        if violation.rule not in HELD_ELSEWHERE
        and not (
            violation.rule == "no-host-namespaces-or-privileged"
            and violation.resource.split()[-1].startswith(f"{platform}/")
        )
    ]
    assert violations == [], f"{any_render.id}:\n" + "\n".join(map(str, violations))
