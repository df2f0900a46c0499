"""Pod rules: no host namespaces or privilege, no remote code, probes and limits, images by digest, GPU memory."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from infra.policy.kubernetes import CNPG_CLUSTER, LONG_RUNNING, command_line, container_label, containers, pod_spec
from infra.policy.model import Config, Resource, is_unknown, lookup, mapping, unknown_along

DIGEST_PINNED = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
TRUST_REMOTE_CODE = "--trust-remote-code"
GPU_MEMORY_FLAG = "--gpu-memory-utilization"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def no_host_namespaces_or_privilege(resource: Resource, config: Config) -> Iterator[str]:
    """Host network/PID/IPC namespaces and privileged containers hand the node to the pod."""
    del config
    spec = pod_spec(resource)
    if spec is None:
        return
    for field in HOST_NAMESPACES:
        if spec.get(field) is True:
            yield f"pod spec sets {field}: true"
    for list_name, container in containers(spec):
        if lookup(container, "securityContext", "privileged") is True:
            yield f"{container_label(list_name, container)} is privileged"


def enables_trust_remote_code(word: str) -> bool:
    """``--trust-remote-code`` or ``--trust-remote-code=<anything but false/0>``."""
    if word == TRUST_REMOTE_CODE:
        return True
    flag, _, value = word.partition("=")
    return flag == TRUST_REMOTE_CODE and value.lower() not in ("false", "0")


def no_trust_remote_code(resource: Resource, config: Config) -> Iterator[str]:
    """vLLM must never run a model repository's own Python: in pod command lines, and in Helm values alike."""
    del config
    if resource.type == HELM_RELEASE:
        values = json.dumps(resource.props.get("values"), default=str)
        if TRUST_REMOTE_CODE in values:
            yield f"Helm values pass {TRUST_REMOTE_CODE}"
        return
    spec = pod_spec(resource)
    if spec is None:
        return
    for list_name, container in containers(spec):
        if any(enables_trust_remote_code(word) for word in command_line(container)):
            yield f"{container_label(list_name, container)} runs with {TRUST_REMOTE_CODE}"


def _has_limit(container: Mapping[str, Any], resource_name: str) -> bool:
    if unknown_along(container, "resources", "limits", resource_name):
        return True
    value = lookup(container, "resources", "limits", resource_name)
    return value is not None and value != ""


def probes_and_limits(resource: Resource, config: Config) -> Iterator[str]:
    """CPU and memory limits on every container; liveness and readiness probes on every long-running one."""
    del config
    spec = pod_spec(resource)
    if spec is None:
        return
    for list_name, container in containers(spec):
        if list_name == "ephemeralContainers":
            continue  # debugging containers accept neither probes nor resources
        label = container_label(list_name, container)
        if is_unknown(container.get("resources")):
            continue
        missing = [name for name in ("cpu", "memory") if not _has_limit(container, name)]
        if missing:
            yield f"{label} has no {' or '.join(missing)} limit"
        if list_name == "containers" and resource.kind in LONG_RUNNING:
            for probe in ("livenessProbe", "readinessProbe"):
                if not isinstance(container.get(probe), Mapping) and not is_unknown(container.get(probe)):
                    yield f"{label} has no {probe}"


def images_pinned_by_digest(resource: Resource, config: Config) -> Iterator[str]:
    """A tag can move under a running Deployment; a digest is the exact bytes that were reviewed.

    CloudNativePG clusters count too: the operator runs ``spec.imageName`` (its own default is a tag).
    """
    del config
    if resource.type == CNPG_CLUSTER:
        image = lookup(resource.props, "spec", "imageName")
        if not unknown_along(resource.props, "spec", "imageName") and not (
            isinstance(image, str) and DIGEST_PINNED.match(image)
        ):
            yield f"spec.imageName {image!r} is not pinned by digest (the operator's default is a tag)"
        return
    spec = pod_spec(resource)
    if spec is None:
        return
    for list_name, container in containers(spec):
        image = container.get("image")
        if is_unknown(image):
            continue
        if not isinstance(image, str) or not DIGEST_PINNED.match(image):
            yield f"{container_label(list_name, container)} image {image!r} is not pinned by digest (@sha256:...)"


def gpu_memory_utilization_values(words: list[str]) -> list[str]:
    """Every value given to ``--gpu-memory-utilization`` (``--flag value`` or ``--flag=value``)."""
    values = []
    for index, word in enumerate(words):
        if word == GPU_MEMORY_FLAG:
            values.append(words[index + 1] if index + 1 < len(words) else "")
        elif word.startswith(f"{GPU_MEMORY_FLAG}="):
            values.append(word.split("=", 1)[1])
    return values


def gpu_memory_utilization(resource: Resource, config: Config) -> Iterator[str]:
    """vLLM's share of GPU memory (weights + KV cache): below the floor, paid-for GPUs hold less cache than they can.

    A container without the flag runs vLLM's default (0.9), which is above the floor.
    """
    minimum = float(mapping(config).get("minimum", 0.85))
    spec = pod_spec(resource)
    if spec is None:
        return
    for list_name, container in containers(spec):
        for value in gpu_memory_utilization_values(command_line(container)):
            try:
                fraction = float(value)
            except ValueError:
                yield f"{container_label(list_name, container)} sets {GPU_MEMORY_FLAG} to {value!r}, not a number"
                continue
            if fraction < minimum:
                yield f"{container_label(list_name, container)} sets {GPU_MEMORY_FLAG} {value}, below {minimum:g}"
