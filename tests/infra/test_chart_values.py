"""Every values key a render sets is one the chart reads (chart_values.py): no typo or removed option passes silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.platform.charts import DCGM_EXPORTER_CHART
from infra.platform.gpu import dcgm_exporter_values
from tests.infra.chart_output import ChartUnavailableError, Release, RenderCharts, chart_archive, releases_of
from tests.infra.chart_values import load_chart, unread_key, unread_keys
from tests.infra.rendering import Render
from tests.infra.test_platform_gpu import gpu_scheduling


def _archive(release: Release) -> Path:
    try:
        return chart_archive(release)
    except ChartUnavailableError as exc:
        pytest.skip(str(exc))


def test_every_key_we_set_is_read_by_the_chart(any_render: Render, chart_output: RenderCharts) -> None:
    del chart_output  # the archives are at hand once the session has templated them
    unread = {
        release.name: keys
        for release in releases_of(any_render.helm_releases)
        if (keys := unread_keys(_archive(release), release.values))
    }
    assert unread == {}, f"{any_render.id}: values keys the chart does not read: {unread}"


def _dcgm() -> Path:
    return _archive(
        Release(
            "dcgm-exporter", DCGM_EXPORTER_CHART.name, DCGM_EXPORTER_CHART.version, "ns", {}, DCGM_EXPORTER_CHART.repo
        )
    )


def test_a_removed_or_misspelt_key_is_caught_and_free_form_maps_are_not() -> None:
    archive = _dcgm()
    values = dcgm_exporter_values("aws", gpu_scheduling())
    assert unread_keys(archive, values) == []
    planted = {**values, "mapPodsMetrics": True, "kubernetes": {"enablePodLabel": True}}
    assert unread_keys(archive, planted) == ["kubernetes.enablePodLabel", "mapPodsMetrics"]
    # a map the chart passes through whole (toYaml) is free-form: its content is the schema check's business
    assert unread_keys(archive, {"podAnnotations": {"anything/at-all": "x"}, "resources": {"limits": {"gpu": 1}}}) == []


def test_subcharts_aliases_and_dependency_conditions_are_followed() -> None:
    release = Release("ndp", "nvidia-device-plugin", "0.20.0", "ns", {}, "https://nvidia.github.io/k8s-device-plugin")
    chart = load_chart(_archive(release))
    assert "nfd" in chart.subcharts  # node-feature-discovery under its alias
    assert unread_key(chart, ("nfd", "enabled")) is None  # read by Chart.yaml's condition
    assert unread_key(chart, ("nfd", "master", "nosuchkey")) == ("nfd", "master", "nosuchkey")
