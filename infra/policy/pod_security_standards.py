"""The Kubernetes Pod Security Standards (baseline and restricted), as the built-in admission controller applies them.

Written from the published definition (kubernetes.io/docs/concepts/security/pod-security-standards/) so that a render
can be admitted offline exactly as a namespace labelled ``pod-security.kubernetes.io/enforce: <level>`` with
``enforce-version: v1.<minor>`` would admit it. Each control is one function; ``restricted`` is ``baseline`` plus its
own controls. Policy versions before v1.25 (when the controller went GA) are refused rather than approximated; the
differences between later versions (the sysctls allowed, the AppArmor field, SELinux's ``container_engine_t``) follow
the version asked for. The built-in controller does not support the "known list" of host ports, so any non-zero
``hostPort`` fails, as it does on a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["privileged", "baseline", "restricted"]
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
#: The oldest policy version implemented (Pod Security admission went GA in v1.25).
OLDEST_MINOR = 25

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_VOLUME_TYPES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
#: sysctl -> first policy minor version that allows it
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced": 0,
    "net.ipv4.ip_local_port_range": 0,
    "net.ipv4.ip_unprivileged_port_start": 0,
    "net.ipv4.tcp_syncookies": 0,
    "net.ipv4.ping_group_range": 0,
    "net.ipv4.ip_local_reserved_ports": 27,
    "net.ipv4.tcp_keepalive_time": 29,
    "net.ipv4.tcp_fin_timeout": 29,
    "net.ipv4.tcp_keepalive_intvl": 29,
    "net.ipv4.tcp_keepalive_probes": 29,
}
SELINUX_TYPES = {"": 0, "container_t": 0, "container_init_t": 0, "container_kvm_t": 0, "container_engine_t": 31}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
#: The newest minor version this module knows; ``latest`` means it.
LATEST_MINOR = 35


@dataclass(frozen=True)
class Violation:
    """One control a pod fails, named as the standard names it, with where and what."""

    control: str
    detail: str

    def __str__(self) -> str:
        return f"{self.control}: {self.detail}"


def policy_minor(version: str) -> int:
    """The minor version of a ``pod-security.kubernetes.io/<mode>-version`` label value (``latest`` or ``v1.N``)."""
    if version == "latest":
        return LATEST_MINOR
    match = re.fullmatch(r"v1\.(\d+)", version)
    if match is None:
        raise ValueError(f"policy version {version!r} is neither 'latest' nor 'v1.<minor>'")
    minor = int(match.group(1))
    if minor < OLDEST_MINOR:
        raise ValueError(f"policy version {version} predates v1.{OLDEST_MINOR}; only v1.{OLDEST_MINOR}+ is implemented")
    return min(minor, LATEST_MINOR)


@dataclass(frozen=True)
class _Pod:
    """The parts of a pod the controls read."""

    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    minor: int

    @property
    def security_context(self) -> Mapping[str, Any]:
        return _mapping(self.spec.get("securityContext"))

    def containers(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for list_name in CONTAINER_LISTS:
            for container in self.spec.get(list_name) or ():
                if isinstance(container, Mapping):
                    yield f"{list_name}[{container.get('name', '?')}]", container

    def container_contexts(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for where, container in self.containers():
            yield where, _mapping(container.get("securityContext"))

    @property
    def is_windows(self) -> bool:
        return _mapping(self.spec.get("os")).get("name") == "windows"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --- baseline --------------------------------------------------------------------------------------------------------
def _host_process(pod: _Pod) -> Iterator[str]:
    if _mapping(pod.security_context.get("windowsOptions")).get("hostProcess") is True:
        yield "spec.securityContext.windowsOptions.hostProcess is true"
    for where, context in pod.container_contexts():
        if _mapping(context.get("windowsOptions")).get("hostProcess") is True:
            yield f"{where}.securityContext.windowsOptions.hostProcess is true"


def _host_namespaces(pod: _Pod) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(field) is True:
            yield f"spec.{field} is true"


def _privileged(pod: _Pod) -> Iterator[str]:
    for where, context in pod.container_contexts():
        if context.get("privileged") is True:
            yield f"{where}.securityContext.privileged is true"


def _baseline_capabilities(pod: _Pod) -> Iterator[str]:
    for where, context in pod.container_contexts():
        added = set(_mapping(context.get("capabilities")).get("add") or ()) - BASELINE_CAPABILITIES
        if added:
            yield f"{where} adds {sorted(added)}"


def _host_path(pod: _Pod) -> Iterator[str]:
    for volume in pod.spec.get("volumes") or ():
        if isinstance(volume, Mapping) and "hostPath" in volume:
            yield f"volume {volume.get('name', '?')!r} is a hostPath"


def _host_ports(pod: _Pod) -> Iterator[str]:
    for where, container in pod.containers():
        for port in container.get("ports") or ():
            if isinstance(port, Mapping) and port.get("hostPort") not in (None, 0):
                yield f"{where} sets hostPort {port.get('hostPort')}"


def _apparmor(pod: _Pod) -> Iterator[str]:
    for key, value in _mapping(pod.metadata.get("annotations")).items():
        if (
            key.startswith(APPARMOR_ANNOTATION)
            and value != "runtime/default"
            and not str(value).startswith("localhost/")
        ):
            yield f"annotation {key}={value!r}"
    if pod.minor < 30:
        return
    contexts = [("spec", pod.security_context), *pod.container_contexts()]
    for where, context in contexts:
        profile_type = _mapping(context.get("appArmorProfile")).get("type")
        if profile_type not in (None, "RuntimeDefault", "Localhost"):
            yield f"{where}.securityContext.appArmorProfile.type is {profile_type!r}"


def _selinux(pod: _Pod) -> Iterator[str]:
    contexts = [("spec", pod.security_context), *pod.container_contexts()]
    for where, context in contexts:
        options = _mapping(context.get("seLinuxOptions"))
        selinux_type = options.get("type")
        if selinux_type is not None and SELINUX_TYPES.get(selinux_type, LATEST_MINOR + 1) > pod.minor:
            yield f"{where}.securityContext.seLinuxOptions.type is {selinux_type!r}"
        for field in ("user", "role"):
            if options.get(field) not in (None, ""):
                yield f"{where}.securityContext.seLinuxOptions.{field} is set"


def _proc_mount(pod: _Pod) -> Iterator[str]:
    for where, context in pod.container_contexts():
        if context.get("procMount") not in (None, "Default"):
            yield f"{where}.securityContext.procMount is {context.get('procMount')!r}"


def _baseline_seccomp(pod: _Pod) -> Iterator[str]:
    contexts = [("spec", pod.security_context), *pod.container_contexts()]
    for where, context in contexts:
        if _mapping(context.get("seccompProfile")).get("type") == "Unconfined":
            yield f"{where}.securityContext.seccompProfile.type is 'Unconfined'"


def _sysctls(pod: _Pod) -> Iterator[str]:
    for sysctl in pod.security_context.get("sysctls") or ():
        name = _mapping(sysctl).get("name")
        if SAFE_SYSCTLS.get(str(name), LATEST_MINOR + 1) > pod.minor:
            yield f"sysctl {name!r} is not in the safe set"


# --- restricted ------------------------------------------------------------------------------------------------------
def _volume_types(pod: _Pod) -> Iterator[str]:
    for volume in pod.spec.get("volumes") or ():
        if not isinstance(volume, Mapping):
            continue
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            yield f"volume {volume.get('name', '?')!r} is of type {sorted(kinds - RESTRICTED_VOLUME_TYPES)}"


def _privilege_escalation(pod: _Pod) -> Iterator[str]:
    if pod.is_windows:
        return
    for where, context in pod.container_contexts():
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"{where}.securityContext.allowPrivilegeEscalation is not false"


def _run_as_non_root(pod: _Pod) -> Iterator[str]:
    pod_level = pod.security_context.get("runAsNonRoot")
    if pod_level is False:
        yield "spec.securityContext.runAsNonRoot is false"
    for where, context in pod.container_contexts():
        container_level = context.get("runAsNonRoot")
        if container_level is False:
            yield f"{where}.securityContext.runAsNonRoot is false"
        elif container_level is None and pod_level is not True:
            yield f"{where}: runAsNonRoot is true neither on the container nor on the pod"


def _run_as_user(pod: _Pod) -> Iterator[str]:
    contexts = [("spec", pod.security_context), *pod.container_contexts()]
    for where, context in contexts:
        if context.get("runAsUser") == 0:
            yield f"{where}.securityContext.runAsUser is 0"


def _restricted_seccomp(pod: _Pod) -> Iterator[str]:
    if pod.is_windows:
        return
    allowed = ("RuntimeDefault", "Localhost")
    pod_type = _mapping(pod.security_context.get("seccompProfile")).get("type")
    if pod_type is not None and pod_type not in allowed:
        yield f"spec.securityContext.seccompProfile.type is {pod_type!r}"
    for where, context in pod.container_contexts():
        container_type = _mapping(context.get("seccompProfile")).get("type")
        if container_type is None and pod_type is None:
            yield f"{where}: seccompProfile.type is set neither on the container nor on the pod"
        elif container_type is not None and container_type not in allowed:
            yield f"{where}.securityContext.seccompProfile.type is {container_type!r}"


def _restricted_capabilities(pod: _Pod) -> Iterator[str]:
    if pod.is_windows:
        return
    for where, context in pod.container_contexts():
        capabilities = _mapping(context.get("capabilities"))
        if "ALL" not in (capabilities.get("drop") or ()):
            yield f"{where} does not drop ALL capabilities"
        added = set(capabilities.get("add") or ()) - {"NET_BIND_SERVICE"}
        if added:
            yield f"{where} adds {sorted(added)}"


Control = Callable[[_Pod], Iterator[str]]
BASELINE: dict[str, Control] = {
    "HostProcess": _host_process,
    "Host Namespaces": _host_namespaces,
    "Privileged Containers": _privileged,
    "Capabilities": _baseline_capabilities,
    "HostPath Volumes": _host_path,
    "Host Ports": _host_ports,
    "AppArmor": _apparmor,
    "SELinux": _selinux,
    "/proc Mount Type": _proc_mount,
    "Seccomp": _baseline_seccomp,
    "Sysctls": _sysctls,
}
RESTRICTED: dict[str, Control] = {
    "Volume Types": _volume_types,
    "Privilege Escalation": _privilege_escalation,
    "Running as Non-root": _run_as_non_root,
    "Running as Non-root user": _run_as_user,
    "Seccomp": _restricted_seccomp,
    "Capabilities": _restricted_capabilities,
}
#: restricted is baseline plus its own controls; its Seccomp and Capabilities replace baseline's (as the controller's
#: restricted checks override the baseline ones of the same name).
CONTROLS: dict[Level, dict[str, Control]] = {
    "privileged": {},
    "baseline": BASELINE,
    "restricted": {**BASELINE, **RESTRICTED},
}


def check_pod(metadata: Mapping[str, Any], spec: Mapping[str, Any], level: Level, version: str) -> list[Violation]:
    """Every control of ``level`` (at policy ``version``) that a pod with this metadata and spec fails."""
    pod = _Pod(metadata, spec, policy_minor(version))
    return [Violation(name, detail) for name, control in CONTROLS[level].items() for detail in control(pod)]


#: Where each workload kind keeps its pod template (metadata and spec).
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}


def pod_of(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """(metadata, spec) of the pod a Kubernetes object runs, or None when it runs none (admission checks templates too)."""
    if obj.get("kind") == "Pod":
        return _mapping(obj.get("metadata")), _mapping(obj.get("spec"))
    path = POD_TEMPLATE_PATHS.get(str(obj.get("kind")))
    if path is None:
        return None
    template: Any = obj
    for step in path:
        template = _mapping(template).get(step)
    template = _mapping(template)
    return _mapping(template.get("metadata")), _mapping(template.get("spec"))


def check_object(obj: Mapping[str, Any], level: Level, version: str) -> list[Violation]:
    """The violations of the pod (or pod template) in ``obj``; [] for objects that run no pod."""
    pod = pod_of(obj)
    return [] if pod is None else check_pod(*pod, level=level, version=version)
