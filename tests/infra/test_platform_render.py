"""Every object the platform declares passes strict schema validation and checkov, on every stack and cloud.

The integrity and checkov tests hold every render to the same; these pick the platform's own objects (the Kubernetes
objects declared inside the Platform component) out of the session's renders of the whole program, so a failure here
is the platform's, whatever other stages add.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.infra.checkov_runner import Scan
from tests.infra.platform_harness import PLATFORM_TYPE
from tests.infra.rendering import Render
from tests.infra.schemas import validate_object


def _identity(obj: dict[str, Any]) -> tuple[str, str | None, str]:
    return obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]


def platform_objects(render: Render) -> list[tuple[Path, dict[str, Any]]]:
    """(manifest file, object) for each Kubernetes object declared inside the Platform component."""
    declared = {
        _identity(resource["inputs"])
        for resource in render.within(PLATFORM_TYPE)
        if "kind" in resource["inputs"] and "metadata" in resource["inputs"]
    }
    found = [
        (path, obj)
        for path, obj in zip(render.manifest_files, render.manifests, strict=True)
        if _identity(obj) in declared
    ]
    assert len(found) == len(declared), f"{render.id}: every platform object has a manifest"
    return found


def test_every_platform_object_passes_strict_schema_validation(any_render: Render) -> None:
    objects = platform_objects(any_render)
    assert objects
    version = any_render.setting("kubernetesVersion")
    assert version
    failures = []
    for path, obj in objects:
        try:
            validate_object(obj, version)
        except Exception as exc:
            failures.append(f"{path.relative_to(any_render.path)}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_checkov_finds_nothing_in_the_platform(checkov_scan: Scan, all_renders: dict[str, Render]) -> None:
    files = {str(path) for render in all_renders.values() for path, _ in platform_objects(render)}
    assert all(Path(finding.file).is_absolute() for finding in checkov_scan.findings["kubernetes"])
    findings = [finding for finding in checkov_scan.findings["kubernetes"] if finding.file in files]
    assert not findings, "\n".join(sorted({str(f) for f in findings}))
