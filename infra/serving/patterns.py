"""The deployment patterns of a served model, and what the serverless one adds: the engine image pre-pulled on GPU nodes.

Each model picks one pattern (``<role>DeploymentPattern``):

- ``single``: exactly one replica, no autoscaler (``replicas: 1`` on the Deployment, no ScaledObject). The cheapest
  always-on model: one GPU, no cold start, no redundancy. Dev only.
- ``horizontal``: KEDA between ``minReplicas`` (>= 1) and ``maxReplicas`` on vLLM's queue depth and KV-cache use,
  replicas spread over nodes (and zones in prod). What prod runs.
- ``serverless``: KEDA from zero: after ``autoscaleIdleSeconds`` without traffic the model has no replica and holds
  no GPU; the router's ``no_backend`` count wakes it. The first request after idle waits for a cold start
  (``infra/serving/cold_start.py``), so the engine image is pre-pulled on every GPU node by a DaemonSet (below) and the
  weights come from the shared model cache, never from the Hub. Dev only.

The fourth pattern of the design, microservice integration, is not a per-model choice: it is how every stack runs
(gateway, auth, sessions, chat and the router as separate Deployments behind Services, talking over authenticated
HTTP, each scaled on its own).
"""

from __future__ import annotations

from typing import Any

from infra.cluster import GpuScheduling
from infra.k8s.labels import selector_labels, standard_labels
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.serving.spec import ModelSpec

PREPULL_NAME = "vllm-image-prepull"
PREPULL_COMPONENT = "image-prepull"
#: The holder only sleeps; the kubelet keeps an image a running container uses (image GC never removes it).
PREPULL_RESOURCES = {"cpu": "10m", "memory": "16Mi"}


def needs_image_prepull(models: tuple[ModelSpec, ...], *, uses_gpus: bool) -> bool:
    """Only a model that scales to zero starts cold on a running node; the others keep their image in use."""
    return uses_gpus and any(model.scales_to_zero for model in models)


def _exec_probe(period: int) -> dict[str, Any]:
    return {"exec": {"command": ["true"]}, "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": 3}


def image_prepull_daemonset(
    image: str, *, namespace: str, stack: str, gpu: GpuScheduling, service_account: str
) -> dict[str, Any]:
    """A DaemonSet on every GPU node whose only container runs the vLLM image doing nothing.

    So the image (several GB) is on the node before a scaled-to-zero engine needs it: a wake-up on a running GPU node
    skips the pull. A node that the pool adds for the wake-up pulls it once, in parallel with the engine pod; only a
    node image with the engine image baked in (a GKE secondary boot disk, an EKS AMI built with it) removes that pull,
    and it is not built here (README, "Deployment patterns"). The pod needs no network, no token and no GPU: it
    tolerates the GPU taint but requests no ``nvidia.com/gpu``, so it never takes a GPU from an engine.
    """
    labels = standard_labels(PREPULL_NAME, PREPULL_COMPONENT, stack)
    resources = dict(PREPULL_RESOURCES)
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": PREPULL_NAME, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector_labels(PREPULL_NAME)},
            # a new image digest reaches every node at once: pulling it is the point
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": service_account,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": restricted_pod_security_context(),
                    "terminationGracePeriodSeconds": 5,
                    **gpu.pod_spec(),
                    "containers": [
                        {
                            "name": "hold-image",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sleep", "infinity"],
                            "resources": {"requests": dict(resources), "limits": dict(resources)},
                            "securityContext": restricted_container_security_context(),
                            "livenessProbe": _exec_probe(300),
                            "readinessProbe": _exec_probe(300),
                        }
                    ],
                },
            },
        },
    }
