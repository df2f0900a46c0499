"""GPU plumbing per cloud: device plugin on AWS only, DCGM exporter on both, on GPU nodes only."""

from __future__ import annotations

from typing import Any

from infra.cluster import GPU_TAINT_KEY, POOL_LABEL, gpu_scheduling
from infra.platform.gpu import dcgm_exporter_values, device_plugin_values, installs_device_plugin
from tests.infra.platform_harness import platform  # noqa: F401  (fixture)
from tests.infra.rendering import Render

GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def assert_on_gpu_nodes_only(values: dict[str, Any]) -> None:
    assert values["tolerations"] == [GPU_TOLERATION]
    assert values["nodeSelector"] == {POOL_LABEL: "gpu"}
    (term,) = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["gpu"]}]}


def test_device_plugin_only_where_the_image_does_not_bring_one(platform: Render) -> None:  # noqa: F811
    releases = platform.helm_releases
    assert ("nvidia-device-plugin" in releases) == (platform.cloud == "aws")
    if platform.cloud == "aws":
        release = releases["nvidia-device-plugin"]
        assert release["namespace"].endswith("-platform")
        values = release["values"]
        assert_on_gpu_nodes_only(values)
        assert values["gfd"] == {"enabled": False}
        assert values["nfd"] == {"enabled": False}
        assert "@sha256:" in values["image"]["tag"]
        assert "driver" not in str(values).lower()  # AL2023 NVIDIA AMIs ship the driver: nothing installs one


def test_dcgm_exporter_on_every_gpu_node_with_its_servicemonitor_left_to_monitoring(platform: Render) -> None:  # noqa: F811
    release = platform.helm_releases["dcgm-exporter"]
    assert release["namespace"].endswith("-platform")
    values = release["values"]
    assert_on_gpu_nodes_only(values)
    assert values["serviceMonitor"] == {"enabled": False}
    assert values["service"]["port"] == 9400
    assert "@sha256:" in values["image"]["tag"]


def test_dcgm_privilege_only_on_gke_where_the_driver_comes_from_the_host() -> None:
    aws = dcgm_exporter_values("aws", gpu_scheduling())
    assert "privileged" not in aws["securityContext"]
    # `add: []` replaces the chart's default SYS_ADMIN (Helm merges maps; a list is replaced whole)
    assert aws["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": []}
    gcp = dcgm_exporter_values("gcp", gpu_scheduling())
    assert gcp["securityContext"]["privileged"] is True
    assert gcp["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": []}
    assert gcp["extraHostVolumes"] == [{"name": "nvidia-install-dir-host", "hostPath": "/home/kubernetes/bin/nvidia"}]
    assert {"name": "LD_LIBRARY_PATH", "value": "/usr/local/nvidia/lib64"} in gcp["extraEnv"]


def test_the_device_plugin_decision_per_cloud() -> None:
    assert installs_device_plugin("aws")
    assert not installs_device_plugin("gcp")
    assert device_plugin_values(gpu_scheduling())["failOnInitError"] is True


def test_dcgm_endpoint_is_exported_for_the_servicemonitor(platform: Render) -> None:  # noqa: F811
    outputs = platform.outputs
    if "platformDcgm" in outputs:  # rendered alone
        dcgm = outputs["platformDcgm"]
        assert (dcgm["service_name"], dcgm["port_name"], dcgm["port"]) == ("dcgm-exporter", "metrics", 9400)
        assert dcgm["namespace"].endswith("-platform")
