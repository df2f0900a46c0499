"""The offline renders the infra tests read, and how a session produces them.

Every render is the real program run by the real CLI (``python -m stacks.render``): the committed stacks on both
clouds, and a few variants that set what no committed stack sets (every secret, the simulator engine), rendered from
a temporary project folder holding Pulumi.yaml and a stack file derived from the committed one. A session renders
each once, all at the same time on a warm pool of processes (render_pool.py), into its own temporary folder: nothing
carries over from one session to the next.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from stacks.config.stack import StackConfig, is_secret, iter_keys, parse_stack_config
from stacks.render.stack_files import load_stack_settings
from tests.infra.render_pool import JobResult, WarmPool

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "helpline"
STACKS = ("dev", "prod")
CLOUDS = ("aws", "gcp")
COMBINATIONS = [(stack, cloud) for stack in STACKS for cloud in CLOUDS]
#: Every secret key the config declares: a variant that sets them all walks every secret-bearing path.
SECRET_KEYS = frozenset(key for _, key, declared in iter_keys() if is_secret(declared))
#: What ``pulumi config set --secret`` writes; the offline render never decrypts it (it substitutes a placeholder).
STAND_IN_CIPHERTEXT = "v1:AAAAbm90LWEtcmVhbC1jaXBoZXJ0ZXh0"
#: A render that takes longer than this is stuck, not slow (one takes seconds).
RENDER_TIMEOUT_SECONDS = 240
#: libyaml when PyYAML has it: the renders hold a few thousand manifests per session.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RenderSpec:
    """What to render: a committed stack on one cloud, or a variant of it with config overrides."""

    stack: str
    cloud: str
    #: None for the committed stack; otherwise what the variant is for, in a word (its id's suffix)
    variant: str | None = None
    #: plain config values set over the committed stack file (keys without the ``helpline:`` namespace)
    values: Mapping[str, str] = field(default_factory=dict)
    #: keys set as encrypted values
    secrets: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return "-".join(part for part in (self.stack, self.cloud, self.variant) if part)


COMMITTED = tuple(RenderSpec(stack, cloud) for stack, cloud in COMBINATIONS)
#: The fewest variants that exercise what the committed stacks leave out. Every secret needs a vLLM stack (the
#: Hugging Face token goes to the model loader, which the simulator does not have) and the simulator needs dev (prod
#: refuses it), hence two: prod on GCP with every secret (alert webhooks through the receivers Secret, the token in
#: the loader), and dev on AWS on the simulator, also with every secret (none may bring back a loader, a GPU or a
#: token mount).
VARIANTS = (
    # also: a VPN range admitted to the private API endpoint
    RenderSpec("prod", "gcp", "secrets", values={"apiPrivateCidrs": '["10.200.0.0/16"]'}, secrets=SECRET_KEYS),
    # also: the chat model on the single pattern (one replica, no autoscaler) beside the serverless classifier
    RenderSpec(
        "dev",
        "aws",
        "simulator",
        values={"engine": "simulator", "chatDeploymentPattern": "single", "chatMinReplicas": "1"},
        secrets=SECRET_KEYS,
    ),
)


@dataclass
class Render:
    """One stack rendered for one cloud (perhaps a variant), as written by ``python -m stacks.render``."""

    spec: RenderSpec
    path: Path
    #: every secret value the render knows (fabricated or placeholder): none may appear in clear
    secret_values: frozenset[str]
    #: the config the program ran with (``helpline:key`` -> value as Pulumi passes it, declared defaults included)
    config: Mapping[str, str]
    #: keys set as encrypted values (``helpline:key``)
    secret_keys: frozenset[str]

    @property
    def stack(self) -> str:
        return self.spec.stack

    @property
    def cloud(self) -> str:
        return self.spec.cloud

    @property
    def id(self) -> str:
        return self.spec.id

    def setting(self, key: str) -> str | None:
        """The value of ``helpline:<key>`` this render was made with, or None when neither stack nor project sets it."""
        return self.config.get(f"{PROJECT}:{key}")

    def sets_secret(self, key: str) -> bool:
        return f"{PROJECT}:{key}" in self.secret_keys

    @cached_property
    def stack_config(self) -> StackConfig:
        """The validated config the program ran with, parsed as the program parses it."""
        values = {key.split(":", 1)[1]: value for key, value in self.config.items() if key.startswith(f"{PROJECT}:")}
        return parse_stack_config(self.stack, values, {key.split(":", 1)[1] for key in self.secret_keys})

    @cached_property
    def inventory(self) -> dict[str, Any]:
        return json.loads((self.path / "inventory.json").read_text())

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.inventory["resources"]

    @property
    def outputs(self) -> dict[str, Any]:
        return self.inventory["outputs"]

    @cached_property
    def manifest_files(self) -> list[Path]:
        return sorted((self.path / "manifests").rglob("*.yaml"))

    @cached_property
    def manifests(self) -> list[dict[str, Any]]:
        return [yaml.load(path.read_text(), Loader=_YAML_LOADER) for path in self.manifest_files]

    @cached_property
    def helm_releases(self) -> dict[str, dict[str, Any]]:
        helm = self.path / "helm"
        return (
            {p.stem: yaml.load(p.read_text(), Loader=_YAML_LOADER) for p in sorted(helm.glob("*.yaml"))}
            if helm.exists()
            else {}
        )

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.manifests
            if m["kind"] == kind and (namespace is None or m["metadata"].get("namespace") == namespace)
        ]

    def object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        found = [m for m in self.objects(kind, namespace) if m["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.id}: expected one {kind} {name!r}, found {len(found)}"
        return found[0]

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def within(self, component_type: str, type_token: str | None = None) -> list[dict[str, Any]]:
        """Resources (of ``type_token``) declared inside a component of ``component_type``, at any depth.

        Several stages declare cloud resources (the cluster, the data tier's managed stores): a test about one
        stage's resources selects them by the component that declares them.
        """
        parents = {f"{r['type']}::{r['name']}": r["parent"] for r in self.resources}

        def inside(resource: dict[str, Any]) -> bool:
            parent = resource["parent"]
            while parent is not None:
                if parent.split("::", 1)[0] == component_type:
                    return True
                parent = parents.get(parent)
            return False

        return [r for r in self.resources if (type_token is None or r["type"] == type_token) and inside(r)]

    def one(self, type_token: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_token) if name is None or r["name"] == name]
        assert len(found) == 1, f"{self.id}: expected one {type_token} {name or ''}, found {len(found)}"
        return found[0]

    def pod_specs(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(workload object, pod spec) for every Deployment, StatefulSet, DaemonSet, Job and CronJob."""
        for obj in self.manifests:
            kind = obj["kind"]
            if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
                yield obj, obj["spec"]["template"]["spec"]
            elif kind == "CronJob":
                yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def write_project(spec: RenderSpec, folder: Path) -> Path:
    """A project folder for a variant: Pulumi.yaml as committed, and the committed stack file with the overrides
    (secrets as ciphertext, the way ``pulumi config set --secret`` writes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{spec.stack}.yaml").read_text()) or {}
    config = stack_file.setdefault("config", {})
    config.update({f"{PROJECT}:{key}": value for key, value in spec.values.items()})
    config.update({f"{PROJECT}:{key}": {"secure": STAND_IN_CIPHERTEXT} for key in sorted(spec.secrets)})
    (folder / f"Pulumi.{spec.stack}.yaml").write_text(yaml.safe_dump(stack_file, sort_keys=False))
    return folder


class SessionRenders:
    """Every render of a session, all started at once on the pool; ``wait`` returns them as they are needed."""

    def __init__(self, pool: WarmPool, workdir: Path, specs: Sequence[RenderSpec]) -> None:
        self.workdir = workdir
        #: the renders themselves, one folder each: what checkov scans
        self.renders_dir = workdir / "renders"
        self._jobs: dict[str, tuple[RenderSpec, Path, Future[JobResult]]] = {}
        self._done: dict[str, Render] = {}
        for spec in specs:
            project = ROOT if spec.variant is None else write_project(spec, workdir / "projects" / spec.id)
            argv = ["--stack", spec.stack, "--cloud", spec.cloud, "--project-dir", str(project)]
            argv += ["--out", str(self.renders_dir / spec.id), "--secrets-file", str(self._secrets_file(spec))]
            self._jobs[spec.id] = (spec, project, pool.run(f"render-{spec.id}", "stacks.render", argv))

    def _secrets_file(self, spec: RenderSpec) -> Path:
        folder = self.workdir / "secrets"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{spec.id}.json"

    def wait(self, specs: Sequence[RenderSpec]) -> dict[str, Render]:
        """The renders of ``specs`` by id; raises with the CLI's own error output when one failed."""
        return {spec.id: self._render(spec.id) for spec in specs}

    def wait_written(self) -> Path:
        """Once every render is on disk (from any thread: it only reads the jobs' futures), the folder holding them."""
        for render_id, (_, _, future) in self._jobs.items():
            future.result(timeout=RENDER_TIMEOUT_SECONDS).checked(f"render {render_id}")
        return self.renders_dir

    def _render(self, render_id: str) -> Render:
        if render_id not in self._done:
            spec, project, future = self._jobs[render_id]
            future.result(timeout=RENDER_TIMEOUT_SECONDS).checked(f"render {render_id}")
            settings = load_stack_settings(spec.stack, spec.cloud, project)
            secrets = frozenset(json.loads(self._secrets_file(spec).read_text()))
            self._done[render_id] = Render(
                spec, self.renders_dir / render_id, secrets, settings.config, settings.secret_keys
            )
        return self._done[render_id]
