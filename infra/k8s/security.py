"""Pod Security "restricted" as data: the pod and container security contexts every workload starts from."""

from __future__ import annotations

from typing import Any

#: A non-root UID/GID outside the range images commonly bake in, so a mis-built image cannot be root by accident.
DEFAULT_UID = 10001


def restricted_pod_security_context(uid: int = DEFAULT_UID, fs_group: int | None = None) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": fs_group if fs_group is not None else uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_security_context(*, read_only_root: bool = True) -> dict[str, Any]:
    """``read_only_root=False`` only with a comment at the call site saying why the workload needs it."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
