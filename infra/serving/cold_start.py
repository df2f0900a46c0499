"""How long a scaled-to-zero model keeps its first customer waiting: the cold start, stage by stage.

A serverless model (``infra/serving/patterns.py``) wakes when the router counts a request it could not place; from
there the replica needs, in order: KEDA to see the signal, a GPU node (only if none with a free GPU runs), the engine
image on that node (nothing if the pre-pull DaemonSet already holds it), the weights read from the shared cache, and
the engine's own start. Each stage is an assumption named below; only the engine's start has been measured here, on
the CPU build (README, "Deployment patterns"), and everything else is what only a real cluster can show. The same
assumptions size the startup probe (``infra/serving/startup.py``), so the two cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.serving.spec import ModelSpec
from infra.serving.startup import CACHE_READ_GB_PER_SECOND, ENGINE_INIT_SECONDS

#: Prometheus scrapes the router every 15 s (``monitoring_targets.FAST_INTERVAL``) and KEDA polls every
#: ``autoscalePollingSeconds``: the wake signal is seen within one of each.
ROUTER_SCRAPE_SECONDS = 15
#: A GPU node from the cloud's API call to Ready with the NVIDIA device plugin advertising its GPU. Assumed from the
#: providers' typical figures for single-GPU instances (g6 / g2); not measured here (no cloud).
GPU_NODE_READY_SECONDS = 300
#: Compressed size of the vLLM OpenAI server image (CUDA, PyTorch and vLLM). Assumed: the registry's manifest of the
#: pinned digest gives the real figure (``crane manifest``), and no registry is reachable here.
VLLM_IMAGE_GB = 10.0
#: Pull and unpack throughput of one node from Docker Hub or a pull-through cache (assumed).
IMAGE_PULL_GB_PER_SECOND = 0.1


@dataclass(frozen=True)
class ColdStart:
    """Seconds of each stage of one wake-up; ``total`` is what the first request waits beyond its own answer."""

    wake_seconds: int
    node_seconds: int
    image_seconds: int
    weights_seconds: int
    engine_seconds: int

    @property
    def total(self) -> int:
        return self.wake_seconds + self.node_seconds + self.image_seconds + self.weights_seconds + self.engine_seconds


def cold_start(model: ModelSpec, *, polling_seconds: int, node_running: bool, image_on_node: bool) -> ColdStart:
    """The cold start of ``model``: ``node_running`` when a GPU node with a free GPU is up (the pool's minimum or
    another model's node), ``image_on_node`` when the pre-pull DaemonSet (or the node image) already holds the image.

    A node the pool adds for the wake-up has not got the image either way, unless its node image was built with it.
    """
    image_seconds = 0 if image_on_node else math.ceil(VLLM_IMAGE_GB / IMAGE_PULL_GB_PER_SECOND)
    return ColdStart(
        wake_seconds=ROUTER_SCRAPE_SECONDS + polling_seconds,
        node_seconds=0 if node_running else GPU_NODE_READY_SECONDS,
        image_seconds=image_seconds,
        weights_seconds=math.ceil(model.weights_gb / CACHE_READ_GB_PER_SECOND),
        engine_seconds=ENGINE_INIT_SECONDS,
    )
