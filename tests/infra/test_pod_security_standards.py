"""The Pod Security Standards checker on known-good and known-bad pods, control by control (pure functions)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.policy.pod_security_standards import check_object, check_pod, policy_minor

RESTRICTED_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}


def restricted_pod() -> dict[str, Any]:
    """A pod the restricted level admits: non-root, RuntimeDefault seccomp, no capabilities, no escalation."""
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [{"name": "init", "image": "x", "securityContext": copy.deepcopy(RESTRICTED_CONTEXT)}],
        "containers": [
            {
                "name": "app",
                "image": "x",
                "ports": [{"containerPort": 8080}],
                "securityContext": copy.deepcopy(RESTRICTED_CONTEXT),
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "token", "projected": {"sources": []}}],
    }


def controls(spec: dict[str, Any], level: str = "restricted", version: str = "v1.33", **metadata: Any) -> set[str]:
    return {v.control for v in check_pod(metadata, spec, level, version)}  # type: ignore[arg-type]


def test_a_restricted_pod_passes_every_level() -> None:
    for level in ("privileged", "baseline", "restricted"):
        assert controls(restricted_pod(), level) == set()


def test_the_container_level_may_carry_what_the_pod_level_leaves_out() -> None:
    spec = restricted_pod()
    spec["securityContext"] = {}
    for container in (*spec["initContainers"], *spec["containers"]):
        container["securityContext"] |= {"runAsNonRoot": True, "seccompProfile": {"type": "Localhost"}}
    assert controls(spec) == set()


# Tempo's chart default (an empty container securityContext) is the finding that started this: restricted refuses it.
def test_an_empty_container_context_fails_restricted_but_passes_baseline() -> None:
    spec = restricted_pod()
    spec["containers"][0]["securityContext"] = {}
    assert controls(spec) == {"Privilege Escalation", "Capabilities"}
    assert controls(spec, "baseline") == set()


@pytest.mark.parametrize(
    ("mutate", "control"),
    [
        (lambda s: s.update(hostNetwork=True), "Host Namespaces"),
        (lambda s: s.update(hostPID=True), "Host Namespaces"),
        (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "Privileged Containers"),
        (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]), "Capabilities"),
        (lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "HostPath Volumes"),
        (lambda s: s["containers"][0]["ports"][0].update(hostPort=80), "Host Ports"),
        (lambda s: s["containers"][0]["securityContext"].update(procMount="Unmasked"), "/proc Mount Type"),
        (lambda s: s["securityContext"].update(seccompProfile={"type": "Unconfined"}), "Seccomp"),
        (lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]), "Sysctls"),
        (lambda s: s["securityContext"].update(seLinuxOptions={"type": "spc_t"}), "SELinux"),
        (lambda s: s["securityContext"].update(seLinuxOptions={"user": "root"}), "SELinux"),
        (
            lambda s: s["containers"][0]["securityContext"].update(appArmorProfile={"type": "Unconfined"}),
            "AppArmor",
        ),
        (
            lambda s: s["securityContext"].update(windowsOptions={"hostProcess": True}),
            "HostProcess",
        ),
    ],
)
def test_each_baseline_control_refuses_its_known_bad_pod(mutate: Any, control: str) -> None:
    spec = restricted_pod()
    mutate(spec)
    assert control in controls(spec, "baseline")
    assert control in controls(spec, "restricted")
    assert controls(spec, "privileged") == set()


@pytest.mark.parametrize(
    ("mutate", "control"),
    [
        (lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "x", "path": "/"}}), "Volume Types"),
        (lambda s: s["initContainers"][0]["securityContext"].pop("allowPrivilegeEscalation"), "Privilege Escalation"),
        (lambda s: s["securityContext"].pop("runAsNonRoot"), "Running as Non-root"),
        (lambda s: s["containers"][0]["securityContext"].update(runAsNonRoot=False), "Running as Non-root"),
        (lambda s: s["containers"][0]["securityContext"].update(runAsUser=0), "Running as Non-root user"),
        (lambda s: s["securityContext"].pop("seccompProfile"), "Seccomp"),
        (lambda s: s["containers"][0]["securityContext"].update(capabilities={}), "Capabilities"),
        (
            lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["CHOWN"]),
            "Capabilities",
        ),
    ],
)
def test_each_restricted_control_refuses_its_known_bad_pod_that_baseline_admits(mutate: Any, control: str) -> None:
    spec = restricted_pod()
    mutate(spec)
    assert controls(spec, "restricted") == {control}
    assert controls(spec, "baseline") == set()


def test_net_bind_service_is_the_one_capability_restricted_allows() -> None:
    spec = restricted_pod()
    spec["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert controls(spec) == set()


def test_windows_pods_are_exempt_from_the_linux_only_restricted_controls() -> None:
    spec = restricted_pod()
    spec["os"] = {"name": "windows"}
    spec["securityContext"].pop("seccompProfile")
    spec["containers"][0]["securityContext"] = {}
    assert controls(spec) == set()


def test_the_apparmor_annotation_is_checked_on_the_pod_metadata() -> None:
    bad = {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
    good = {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}
    assert controls(restricted_pod(), annotations=bad) == {"AppArmor"}
    assert controls(restricted_pod(), annotations=good) == set()


def test_what_a_version_allows_follows_the_version_label() -> None:
    spec = restricted_pod()
    spec["securityContext"]["sysctls"] = [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]
    assert controls(spec, version="v1.28") == {"Sysctls"}
    assert controls(spec, version="v1.29") == set()
    spec = restricted_pod()
    spec["securityContext"]["seLinuxOptions"] = {"type": "container_engine_t"}
    assert controls(spec, version="v1.30") == {"SELinux"}
    assert controls(spec, version="latest") == set()


def test_versions_the_module_does_not_implement_are_refused() -> None:
    assert policy_minor("v1.33") == 33
    for bad in ("v1.24", "1.33", "v2.0"):
        with pytest.raises(ValueError, match="version"):
            policy_minor(bad)


def test_workload_templates_are_checked_and_other_objects_run_no_pod() -> None:
    bad = restricted_pod()
    bad["hostNetwork"] = True
    deployment = {"kind": "Deployment", "spec": {"template": {"metadata": {}, "spec": bad}}}
    cron_job = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": bad}}}}}
    for obj in (deployment, cron_job, {"kind": "Pod", "metadata": {}, "spec": bad}):
        assert [v.control for v in check_object(obj, "baseline", "v1.33")] == ["Host Namespaces"]
    assert check_object({"kind": "ConfigMap", "data": {}}, "restricted", "v1.33") == []
