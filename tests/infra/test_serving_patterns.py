"""The deployment patterns as pure builders: what single, horizontal and serverless render, and the cold-start sum.

The rendered stacks are checked in test_serving_render.py (committed dev is serverless, prod horizontal, the simulator
variant runs its chat model single); the pre-pull DaemonSet also goes through the schema, checkov and policy checks
there with every other object of the render.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from infra.cluster import gpu_scheduling
from infra.serving import autoscaling, cold_start, patterns, startup
from infra.serving.engine import ApiKeyRef, engine_deployment
from infra.serving.spec import ModelSpec
from tests.infra.test_serving_builders import AUTOSCALING, CHAT

SERVERLESS = CHAT  # min 0, pattern serverless
HORIZONTAL = replace(CHAT, pattern="horizontal", min_replicas=2, max_replicas=4)
SINGLE = replace(CHAT, pattern="single", min_replicas=1, max_replicas=1)
IMAGE = "vllm/vllm-openai:v0.32.0@sha256:" + "a" * 64


def deployment(model: ModelSpec) -> dict[str, Any]:
    return engine_deployment(
        "vllm",
        model,
        namespace="helpline-dev-serving",
        stack="dev",
        image=IMAGE,
        api_key=ApiKeyRef("vllm-api-key", "api-key"),
        gpu=gpu_scheduling(),
        drain_seconds=120,
        spread_across_zones=False,
    )


def test_single_pins_one_replica_and_the_autoscaled_patterns_leave_the_count_to_keda() -> None:
    assert deployment(SINGLE)["spec"]["replicas"] == 1
    assert (SINGLE.autoscaled, SINGLE.scales_to_zero) == (False, False)
    for model in (HORIZONTAL, SERVERLESS):
        assert "replicas" not in deployment(model)["spec"]
        assert model.autoscaled


def test_only_serverless_wakes_on_the_router_and_only_it_needs_the_image_pre_pulled() -> None:
    def names(model: ModelSpec) -> list[str]:
        return [t.name for t in autoscaling.triggers(model, AUTOSCALING)]

    assert names(SERVERLESS) == ["queue-depth", "kv-cache", "wake-from-zero"]
    assert names(HORIZONTAL) == ["queue-depth", "kv-cache"]
    assert patterns.needs_image_prepull((HORIZONTAL, SERVERLESS), uses_gpus=True)
    assert not patterns.needs_image_prepull((HORIZONTAL, SINGLE), uses_gpus=True)
    assert not patterns.needs_image_prepull((SERVERLESS,), uses_gpus=False)  # the simulator runs on system nodes


def test_the_pre_pull_daemon_set_holds_the_engine_image_on_gpu_nodes_without_a_gpu() -> None:
    gpu = gpu_scheduling()
    daemon_set = patterns.image_prepull_daemonset(
        IMAGE, namespace="helpline-dev-serving", stack="dev", gpu=gpu, service_account="engine"
    )
    pod = daemon_set["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["command"] == ["sleep", "infinity"]
    assert pod["nodeSelector"] == dict(gpu.node_selector)
    assert pod["tolerations"] == [dict(t) for t in gpu.tolerations]
    assert gpu.resource_name not in container["resources"]["limits"]
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"livenessProbe", "readinessProbe"} <= set(container)
    assert pod["automountServiceAccountToken"] is False
    assert (
        daemon_set["spec"]["selector"]["matchLabels"].items()
        <= daemon_set["spec"]["template"]["metadata"]["labels"].items()
    )


def test_cold_start_adds_its_stages_and_each_avoidable_one_goes_when_avoided() -> None:
    worst = cold_start.cold_start(SERVERLESS, polling_seconds=15, node_running=False, image_on_node=False)
    assert worst.wake_seconds == cold_start.ROUTER_SCRAPE_SECONDS + 15
    assert worst.node_seconds == cold_start.GPU_NODE_READY_SECONDS
    assert worst.image_seconds == 100  # 10 GB at 0.1 GB/s
    assert worst.weights_seconds == 56  # 5.6 GB from the cache at 0.1 GB/s
    assert worst.engine_seconds == startup.ENGINE_INIT_SECONDS
    assert worst.total == 30 + 300 + 100 + 56 + 120
    warm_node = cold_start.cold_start(SERVERLESS, polling_seconds=15, node_running=True, image_on_node=True)
    assert (warm_node.node_seconds, warm_node.image_seconds) == (0, 0)
    assert warm_node.total == 30 + 56 + 120


def test_the_startup_probe_allows_for_every_stage_after_the_pod_starts() -> None:
    """The image and the node come before the container starts; the probe must cover the weights and the engine."""
    stages = cold_start.cold_start(SERVERLESS, polling_seconds=15, node_running=True, image_on_node=True)
    assert startup.startup_budget(SERVERLESS.weights_gb).seconds >= stages.weights_seconds + stages.engine_seconds


def test_each_engine_deployment_says_which_checkpoint_revision_and_image_it_serves() -> None:
    annotations = deployment(HORIZONTAL)["metadata"]["annotations"]
    assert annotations["helpline.io/model-id"] == HORIZONTAL.model_id
    assert annotations["helpline.io/model-revision"] == HORIZONTAL.revision
    assert annotations["helpline.io/quantization"] == (HORIZONTAL.quantization or "none")
    assert annotations["helpline.io/engine-image"] == IMAGE
