"""Run a process as a rendered pod's container runs: its UID/GID, its environment only, a read-only root.

    sandbox = PodSandbox.from_pod(pod_spec, "engine", scratch=tmp / "volumes", claims={"model-cache": tmp / "cache"})
    subprocess.Popen(sandbox.command(["python", "-c", "..."]))

No container engine is needed (there is none here): bubblewrap (Debian ``bubblewrap``; ``.ci/run`` installs it)
builds a mount namespace whose root is a read-only tmpfs holding read-only binds of the host's top-level
directories, except the ones a pod's image would not have (``/root``, ``/home``, ``/tmp``, ``/run``); each emptyDir
of the pod becomes a fresh world-writable folder at its mount path (as the kubelet makes them), each
PersistentVolumeClaim the folder the caller maps it to (read-only when the mount says so). ``setpriv`` then drops to
the pod's ``runAsUser``/``runAsGroup`` with its ``fsGroup`` as the only supplementary group and no new
privileges, and ``env -i`` leaves exactly the container's environment. The UID has no passwd entry, as in the pod.
The interpreter's virtualenv and base installation are bound read-only where a hidden folder holds them
(``with_interpreter``). Needs root (CI runs as root).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

#: Host top-level folders the sandbox does not show: an image has no such content (and /root hides our Python).
HIDDEN_TOP_LEVEL = frozenset({"root", "home", "tmp", "run", "dev", "proc", "sys", "lost+found"})
#: Provided by bubblewrap itself (``--dev``, ``--proc``, a read-only ``/sys``).
KERNEL_FOLDERS = frozenset({"/dev", "/proc", "/sys"})


class SandboxUnavailableError(RuntimeError):
    """bubblewrap or setpriv is missing, or we are not root."""


def sandbox_tools() -> tuple[str, str]:
    """Paths of ``bwrap`` and ``setpriv``; raises SandboxUnavailableError saying what to install."""
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    if bwrap is None or setpriv is None:
        raise SandboxUnavailableError("needs bwrap (Debian bubblewrap) and setpriv (util-linux)")
    if os.geteuid() != 0:
        raise SandboxUnavailableError("needs root to switch to the pod's UID")
    return bwrap, setpriv


def _interpreter_prefix(python: Path) -> Path | None:
    """The base installation behind a virtualenv's python (``home`` in pyvenv.cfg), which may live under /root."""
    config = python.parent.parent / "pyvenv.cfg"
    if not config.exists():
        return None
    for line in config.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return Path(value.strip()).parent
    return None


def _traversable_parents(inside: str, targets: Collection[str]) -> list[str]:
    """Create a mount point's missing parents as 0755 (bubblewrap would make them 0700, closed to the pod's UID).

    Only below a hidden top-level folder (the others are the host's own, read-only), and never a folder that is
    itself mounted (``--perms`` would change an emptyDir's mode).
    """
    parents = [str(parent) for parent in reversed(PurePosixPath(inside).parents) if str(parent) != "/"]
    missing = [
        p for p in parents if PurePosixPath(p).parts[1] in HIDDEN_TOP_LEVEL and p not in {*targets, *KERNEL_FOLDERS}
    ]
    return [arg for parent in missing for arg in ("--perms", "0755", "--dir", parent)]


@dataclass(frozen=True)
class PodSandbox:
    uid: int
    gid: int
    #: supplementary groups: the pod's fsGroup, as the kubelet adds it
    groups: tuple[int, ...]
    env: Mapping[str, str]
    #: path inside -> host folder, writable (the pod's emptyDirs)
    writable: Mapping[str, Path]
    #: path inside -> host path, read-only (read-only claims, the interpreter's installation)
    read_only: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def from_pod(
        cls,
        pod: Mapping[str, Any],
        container: str,
        *,
        scratch: Path,
        claims: Mapping[str, Path],
        secret_env: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> PodSandbox:
        """The sandbox of ``container`` in the pod spec: its env (secrets from ``secret_env``) and volume mounts."""
        (spec,) = [c for c in pod["containers"] if c["name"] == container]
        context = {**pod.get("securityContext", {}), **spec.get("securityContext", {})}
        if context.get("readOnlyRootFilesystem") is not True:
            raise ValueError(f"{container}: the sandbox models a read-only root filesystem only")
        env: dict[str, str] = {}
        for item in spec.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            elif secret_env and item["name"] in secret_env:
                env[item["name"]] = secret_env[item["name"]]
        env.update(extra_env or {})
        volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
        writable: dict[str, Path] = {}
        read_only: dict[str, Path] = {}
        for mount in spec.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                folder = scratch / mount["name"]
                folder.mkdir(parents=True, exist_ok=True)
                folder.chmod(0o777)  # an emptyDir is world-writable, as the kubelet creates it)
                writable[mount["mountPath"]] = folder
            elif "persistentVolumeClaim" in volume:
                host = claims[volume["persistentVolumeClaim"]["claimName"]]
                (read_only if mount.get("readOnly") else writable)[mount["mountPath"]] = host
            else:
                raise ValueError(f"{container}: volume {mount['name']!r} is neither an emptyDir nor a claim")
        groups = (context["fsGroup"],) if "fsGroup" in context else ()
        return cls(context["runAsUser"], context["runAsGroup"], groups, env, writable, read_only)

    def with_interpreter(self, python: Path) -> PodSandbox:
        """Also show ``python``'s virtualenv and its base installation where the sandbox hides them.

        A virtualenv's home may sit under /root (pyenv, uv's managed Pythons), and a CI clone (with its tool env)
        under /tmp or /home: those are bound read-only at their own paths.
        """
        venv = python.parent.parent
        candidates = [venv.resolve(), *([prefix] if (prefix := _interpreter_prefix(python)) else [])]
        hidden = {str(path): path for path in candidates if path.parts[1] in HIDDEN_TOP_LEVEL}
        return replace(self, read_only={**self.read_only, **hidden})

    def command(self, argv: list[str]) -> list[str]:
        """``bwrap ... -- setpriv ... -- env -i <env> argv``: run ``argv`` inside the sandbox."""
        bwrap, setpriv = sandbox_tools()
        args = [bwrap, "--die-with-parent", "--unshare-pid", "--tmpfs", "/"]
        for entry in sorted(Path("/").iterdir()):
            if entry.name in HIDDEN_TOP_LEVEL:
                continue
            if entry.is_symlink():
                args += ["--symlink", str(entry.readlink()), str(entry)]
            elif entry.is_dir():
                args += ["--ro-bind", str(entry), str(entry)]
        args += ["--ro-bind", "/sys", "/sys", "--dev", "/dev", "--proc", "/proc"]
        mounts = [(inside, host, "--ro-bind") for inside, host in self.read_only.items()]
        mounts += [(inside, host, "--bind") for inside, host in self.writable.items()]
        targets = {inside for inside, _, _ in mounts}
        for inside, host, bind in sorted(mounts, key=lambda mount: PurePosixPath(mount[0]).parts):  # parents first
            args += [*_traversable_parents(inside, targets), bind, str(host), inside]
        args += ["--remount-ro", "/", "--chdir", "/", "--"]
        groups = [f"--groups={','.join(map(str, self.groups))}"] if self.groups else ["--clear-groups"]
        args += [setpriv, f"--reuid={self.uid}", f"--regid={self.gid}", *groups, "--no-new-privs", "--"]
        return [*args, "env", "-i", *(f"{name}={value}" for name, value in self.env.items()), *argv]
