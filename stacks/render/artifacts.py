"""Turn recorded registrations into what reviewers read: Kubernetes manifests, Helm values, an inventory."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from stacks.render.recorder import SECRET_MASK, RecordedResource

K8S_PREFIX = "kubernetes:"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NOT_OBJECTS = ("pulumi:providers:", "kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")
#: Inventory inputs longer than this are summarised (dashboards, rule files); manifests keep them whole.
INVENTORY_STRING_LIMIT = 2000


def is_kubernetes_object(resource: RecordedResource) -> bool:
    return resource.type.startswith(K8S_PREFIX) and not resource.type.startswith(NOT_OBJECTS)


def _mask_secret_data(obj: dict[str, Any]) -> dict[str, Any]:
    """Secret payloads are masked whatever their origin; the keys stay so tests can check what is mounted."""
    masked = copy.deepcopy(obj)
    for field in ("stringData", "data"):
        values = masked.get(field)
        if isinstance(values, dict):
            encoded = base64.b64encode(SECRET_MASK.encode()).decode()
            masked[field] = dict.fromkeys(values, encoded if field == "data" else SECRET_MASK)
    return masked


def kubernetes_object(resource: RecordedResource) -> dict[str, Any]:
    """The object as the API server would receive it (Pulumi's auto-naming made explicit)."""
    obj = {k: v for k, v in resource.inputs.items() if not k.startswith("__")}
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("name", resource.name)
    if obj.get("kind") == "Secret":
        obj = _mask_secret_data(obj)
    return obj


def _manifest_path(obj: dict[str, Any]) -> Path:
    namespace = obj["metadata"].get("namespace") or "_cluster"
    return Path(namespace) / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def _summarise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _summarise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_summarise(v) for v in value]
    if isinstance(value, str) and len(value) > INVENTORY_STRING_LIMIT:
        return f"<{len(value)} chars, sha256:{hashlib.sha256(value.encode()).hexdigest()[:16]}>"
    return value


def _short_urn(urn: str | None) -> str | None:
    """``urn:pulumi:dev::helpline::a$b$type::name`` -> ``type::name`` (what a reader needs)."""
    if urn is None:
        return None
    qualified_type, name = urn.split("::")[2:4]
    return f"{qualified_type.split('$')[-1]}::{name}"


def inventory(resources: list[RecordedResource], outputs: dict[str, Any]) -> dict[str, Any]:
    entries = []
    for resource in resources:
        inputs = resource.inputs
        if is_kubernetes_object(resource):
            inputs = kubernetes_object(resource)
        parent = _short_urn(resource.parent)
        entries.append(
            {
                "type": resource.type,
                "name": resource.name,
                "parent": None if parent and parent.startswith("pulumi:pulumi:Stack::") else parent,
                "provider": resource.provider,
                "dependsOn": [_short_urn(dep) for dep in resource.dependencies],
                "secretInputs": sorted(resource.secret_paths),
                "inputs": _summarise(inputs),
            }
        )
    return {"resources": entries, "outputs": outputs}


def write_render(out_dir: Path, resources: list[RecordedResource], outputs: dict[str, Any]) -> dict[str, int]:
    """Replace ``out_dir`` with manifests/, helm/ and inventory.json; returns counts for the summary line."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    manifests_dir = out_dir / "manifests"
    helm_dir = out_dir / "helm"
    manifests_dir.mkdir(parents=True)
    counts = {"resources": len(resources), "kubernetes objects": 0, "helm releases": 0}
    seen: dict[Path, str] = {}
    for resource in resources:
        if resource.type == HELM_RELEASE:
            helm_dir.mkdir(exist_ok=True)
            (helm_dir / f"{resource.name}.yaml").write_text(yaml.safe_dump(resource.inputs, sort_keys=True))
            counts["helm releases"] += 1
        elif is_kubernetes_object(resource):
            obj = kubernetes_object(resource)
            path = _manifest_path(obj)
            if path in seen:
                raise ValueError(f"two resources render to {path}: {seen[path]} and {resource.urn}")
            seen[path] = resource.urn
            (manifests_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (manifests_dir / path).write_text(yaml.safe_dump(obj, sort_keys=False))
            counts["kubernetes objects"] += 1
    (out_dir / "inventory.json").write_text(json.dumps(inventory(resources, outputs), indent=2, sort_keys=False) + "\n")
    return counts
