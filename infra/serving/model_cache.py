"""The shared model cache: one ReadWriteMany volume, and one loader Job per (model, revision) that fills it.

Weights are downloaded once per revision, by a Job running as the ``model-loader`` service account (the only
identity the model bucket trusts, and the only pods the platform lets reach the internet). Engines mount
the volume read-only and start offline once the revision's marker exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from infra.k8s.labels import standard_labels
from infra.k8s.objects import config_map
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.naming import MODEL_LOADER_SERVICE_ACCOUNT
from infra.serving import model_loader
from infra.serving.pods import SYSTEM_NODE_SELECTOR, scratch_volume
from infra.serving.spec import ModelSpec
from infra.serving.startup import download_deadline_seconds

CACHE_CLAIM = "model-cache"
#: HF_HOME inside every pod that touches the cache: hub files under hub/, markers under .ready/.
CACHE_MOUNT = PurePosixPath("/models")
LOADER_NAME = "model-loader"
LOADER_SCRIPT_KEY = "model_loader.py"
LOADER_SCRIPT_MOUNT = PurePosixPath("/opt/helpline")
HF_TOKEN_MOUNT = PurePosixPath("/var/run/secrets/huggingface")
HF_TOKEN_KEY = "token"  # noqa: S105  (the Secret's key name)
#: Bucket mirrors live under this prefix: <bucket>/hf/<org>/<name>/<revision>/.
BUCKET_PREFIX = "hf"


def ready_marker(model: ModelSpec) -> PurePosixPath:
    """Where the loader writes, and the engine waits for, the revision's completion marker."""
    return PurePosixPath(model_loader.marker_path(Path(CACHE_MOUNT), model.model_id, model.revision).as_posix())


def loader_script() -> str:
    return Path(model_loader.__file__).read_text()


def loader_script_config_map(namespace: str, stack: str) -> dict[str, Any]:
    """The loader script as a ConfigMap named by its content hash, so a changed script re-runs the Jobs."""
    text = loader_script()
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    labels = standard_labels(LOADER_NAME, "model-cache", stack)
    return config_map(f"{LOADER_NAME}-script-{digest}", namespace, labels, {LOADER_SCRIPT_KEY: text}, immutable=True)


def cache_claim(namespace: str, stack: str, storage_class: str, size_gi: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": CACHE_CLAIM,
            "namespace": namespace,
            "labels": standard_labels(CACHE_CLAIM, "model-cache", stack),
        },
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": f"{size_gi}Gi"}},
        },
    }


def loader_job_name(model: ModelSpec) -> str:
    """One Job per (model, revision): a new revision is a new Job, an unchanged one is left alone."""
    return f"{LOADER_NAME}-{model.slug[:30].rstrip('-')}-{model.revision[:10]}"


def loader_labels(model: ModelSpec, stack: str) -> dict[str, str]:
    """``app.kubernetes.io/name: model-loader`` is what the platform's internet egress rule selects."""
    return {**standard_labels(LOADER_NAME, "model-cache", stack), "helpline.io/model-role": model.role}


def loader_job(
    model: ModelSpec,
    *,
    namespace: str,
    stack: str,
    image: str,
    script_config_map: str,
    bucket_uri: Any,
    hf_token_secret: str | None,
) -> dict[str, Any]:
    """The Job that puts ``model`` at its pinned revision into the cache (bucket mirror first, then the Hub)."""
    deadline = download_deadline_seconds(model.weights_gb)
    env: list[dict[str, Any]] = [
        {"name": "HF_HOME", "value": str(CACHE_MOUNT)},
        {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "1"},
        {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108  (an emptyDir; the root filesystem is read-only)
        {"name": "MODEL_BUCKET_URI", "value": bucket_uri},
    ]
    tmp_volume, tmp_mount = scratch_volume("tmp", "/tmp", "2Gi")  # noqa: S108
    volumes: list[dict[str, Any]] = [
        {"name": CACHE_CLAIM, "persistentVolumeClaim": {"claimName": CACHE_CLAIM}},
        {"name": "script", "configMap": {"name": script_config_map}},
        tmp_volume,
    ]
    mounts: list[dict[str, Any]] = [
        {"name": CACHE_CLAIM, "mountPath": str(CACHE_MOUNT)},
        {"name": "script", "mountPath": str(LOADER_SCRIPT_MOUNT), "readOnly": True},
        tmp_mount,
    ]
    if hf_token_secret is not None:
        # A file, not an env var: huggingface_hub reads HF_TOKEN_PATH, and the token stays out of /proc/*/environ.
        env.append({"name": "HF_TOKEN_PATH", "value": str(HF_TOKEN_MOUNT / HF_TOKEN_KEY)})
        volumes.append({"name": "hf-token", "secret": {"secretName": hf_token_secret, "defaultMode": 0o440}})
        mounts.append({"name": "hf-token", "mountPath": str(HF_TOKEN_MOUNT), "readOnly": True})
    labels = loader_labels(model, stack)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": loader_job_name(model),
            "namespace": namespace,
            "labels": labels,
            # Pulumi waits for the Job to complete; give it the whole download deadline.
            "annotations": {"pulumi.com/timeoutSeconds": str(deadline + 60)},
        },
        "spec": {
            "backoffLimit": 4,
            "activeDeadlineSeconds": deadline,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": MODEL_LOADER_SERVICE_ACCOUNT,
                    # IRSA and GKE Workload Identity do not need the Kubernetes API token.
                    "automountServiceAccountToken": False,
                    "restartPolicy": "OnFailure",
                    "securityContext": {**restricted_pod_security_context(), "fsGroupChangePolicy": "OnRootMismatch"},
                    "nodeSelector": dict(SYSTEM_NODE_SELECTOR),
                    "enableServiceLinks": False,
                    "containers": [
                        {
                            "name": "load",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["python3", str(LOADER_SCRIPT_MOUNT / LOADER_SCRIPT_KEY)],
                            "args": [
                                "--model-id",
                                model.model_id,
                                "--revision",
                                model.revision,
                                "--bucket-prefix",
                                BUCKET_PREFIX,
                            ],
                            "env": env,
                            "resources": {
                                "requests": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"},
                                "limits": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "3Gi"},
                            },
                            "securityContext": restricted_container_security_context(),
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def wait_for_cache_container(model: ModelSpec, image: str, resources: Mapping[str, Any]) -> dict[str, Any]:
    """An init container that holds the engine until the revision's marker exists (bounded by the deadline).

    Giving up lets the pod restart with back-off and surface in alerts, instead of hanging silently.
    """
    deadline = download_deadline_seconds(model.weights_gb)
    script = (
        "end=$(( $(date +%s) + DEADLINE )); "
        'until [ -f "$MARKER" ]; do '
        '[ "$(date +%s)" -ge "$end" ] && { echo "model cache not ready: $MARKER" >&2; exit 1; }; '
        'sleep 5; done; echo "model cache ready: $MARKER"'
    )
    return {
        "name": "wait-for-model",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", script.replace("DEADLINE", str(deadline))],
        "env": [{"name": "MARKER", "value": str(ready_marker(model))}],
        "resources": dict(resources),
        "securityContext": restricted_container_security_context(),
        "volumeMounts": [{"name": CACHE_CLAIM, "mountPath": str(CACHE_MOUNT), "readOnly": True}],
    }
