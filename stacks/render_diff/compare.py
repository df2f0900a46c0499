"""Compare two renders of one stack: resources from inventory.json, text from manifests/ and helm/.

Resources are matched by (type, parent, name), the parts of a Pulumi URN that identify a resource; their inputs are
compared leaf by leaf so the summary can say *what* changed. The unified diff covers the files a reviewer reads:
every Kubernetes manifest and Helm values file in full, and every other resource's inputs as YAML.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NOT_OBJECTS = ("pulumi:providers:", "kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")
#: Changed input paths listed per resource in the summary; the rest are counted.
PATHS_PER_RESOURCE = 4


@dataclass(frozen=True)
class ResourceKey:
    type: str
    parent: str
    name: str


@dataclass(frozen=True)
class ChangedResource:
    label: str
    paths: tuple[str, ...]


@dataclass
class StackDiff:
    """The difference between the base and head render of one stack (``dev-aws`` ...)."""

    stack: str
    base_missing: bool = False
    head_missing: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[ChangedResource] = field(default_factory=list)
    outputs_changed: list[str] = field(default_factory=list)
    #: unified diff per document (``manifests/<ns>/<kind>-<name>.yaml``, ``helm/<release>.yaml``, ``cloud/...``)
    file_diffs: dict[str, str] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed or self.outputs_changed or self.file_diffs)


def resource_label(entry: Mapping[str, Any]) -> str:
    """``Deployment helpline-dev-app/gateway`` for Kubernetes objects, ``<type> <name>`` for everything else."""
    type_token = str(entry["type"])
    inputs = entry.get("inputs") or {}
    if type_token.startswith("kubernetes:") and not type_token.startswith(NOT_OBJECTS):
        metadata = inputs.get("metadata") or {}
        name = metadata.get("name", entry["name"])
        namespace = metadata.get("namespace")
        kind = type_token.rsplit(":", 1)[-1]
        return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    if type_token == HELM_RELEASE:
        return f"Helm release {entry['name']} ({inputs.get('chart', '?')} {inputs.get('version', '?')})"
    return f"{type_token} {entry['name']}"


def changed_paths(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Leaf paths whose values differ (``spec.replicas``, ``spec.template.spec.containers[0].image``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from changed_paths(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from changed_paths(a, b, f"{prefix}[{index}]")
    elif old != new:
        yield prefix or "(value)"


def _inventory(render: Path) -> dict[str, Any]:
    return json.loads((render / "inventory.json").read_text())


def _resources(inventory: Mapping[str, Any]) -> dict[ResourceKey, Mapping[str, Any]]:
    return {ResourceKey(str(e["type"]), str(e.get("parent") or ""), str(e["name"])): e for e in inventory["resources"]}


def _is_file_backed(type_token: str) -> bool:
    """Kubernetes objects and Helm releases are diffed from their files (full text, not the inventory's summary)."""
    return type_token == HELM_RELEASE or (
        type_token.startswith("kubernetes:") and not type_token.startswith(NOT_OBJECTS)
    )


def documents(render: Path) -> dict[str, str]:
    """What the unified diff covers: manifests and Helm values as written, other resources' inputs as YAML."""
    docs = {
        str(path.relative_to(render)): path.read_text()
        for folder in ("manifests", "helm")
        for path in sorted((render / folder).rglob("*.yaml"))
    }
    for key, entry in _resources(_inventory(render)).items():
        if _is_file_backed(key.type) or key.type.startswith("pulumi:providers:"):
            continue
        body = {"inputs": entry.get("inputs"), "dependsOn": entry.get("dependsOn")}
        docs[f"cloud/{key.type}/{key.parent or '-'}/{key.name}"] = yaml.safe_dump(body, sort_keys=True)
    return docs


def unified(name: str, old: str | None, new: str | None) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        (new or "").splitlines(keepends=True),
        fromfile=f"a/{name}" if old is not None else "/dev/null",
        tofile=f"b/{name}" if new is not None else "/dev/null",
        n=3,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def compare(stack: str, base: Path, head: Path) -> StackDiff:
    """The diff of one stack's renders; a missing side (the render failed or is new) is reported, not raised."""
    diff = StackDiff(
        stack, base_missing=not (base / "inventory.json").exists(), head_missing=not (head / "inventory.json").exists()
    )
    if diff.base_missing or diff.head_missing:
        return diff
    old_inventory, new_inventory = _inventory(base), _inventory(head)
    old, new = _resources(old_inventory), _resources(new_inventory)
    diff.added = sorted(resource_label(new[k]) for k in new.keys() - old.keys())
    diff.removed = sorted(resource_label(old[k]) for k in old.keys() - new.keys())
    for key in sorted(old.keys() & new.keys(), key=lambda k: (k.type, k.parent, k.name)):
        paths = tuple(changed_paths(old[key].get("inputs"), new[key].get("inputs")))
        if paths:
            diff.changed.append(ChangedResource(resource_label(new[key]), paths))
    old_outputs, new_outputs = old_inventory.get("outputs") or {}, new_inventory.get("outputs") or {}
    diff.outputs_changed = sorted(
        k for k in set(old_outputs) | set(new_outputs) if old_outputs.get(k) != new_outputs.get(k)
    )
    old_docs, new_docs = documents(base), documents(head)
    for name in sorted(set(old_docs) | set(new_docs)):
        if old_docs.get(name) != new_docs.get(name):
            diff.file_diffs[name] = unified(name, old_docs.get(name), new_docs.get(name))
    return diff


def stacks_in(*roots: Path) -> list[str]:
    """Render folders present under either root (``dev-aws``, ``prod-gcp`` ...), in a stable order."""
    names = {p.name for root in roots if root.exists() for p in root.iterdir() if p.is_dir()}
    return sorted(names)
