"""Properties every render must have, whatever the stack declares: valid objects, no leaked secrets.

They run on every render of the session, variants included (``any_render``): a config override may not break them.
"""

from __future__ import annotations

from stacks.config.cluster import SUPPORTED_KUBERNETES_VERSIONS
from stacks.render.stack_files import placeholder_secret
from tests.infra.rendering import Render
from tests.infra.schemas import validate_object


def kubernetes_version(render: Render) -> str:
    versions = {r["inputs"].get("version") for r in render.of_type("aws:eks/cluster:Cluster")}
    versions |= {r["inputs"].get("minMasterVersion") for r in render.of_type("gcp:container/cluster:Cluster")}
    versions.discard(None)
    assert len(versions) <= 1
    return versions.pop() if versions else SUPPORTED_KUBERNETES_VERSIONS[1]


def test_every_object_passes_strict_schema_validation(any_render: Render) -> None:
    render = any_render
    version = kubernetes_version(render)
    failures = []
    for path, obj in zip(render.manifest_files, render.manifests, strict=True):
        try:
            validate_object(obj, version)
        except Exception as exc:
            failures.append(f"{path.relative_to(render.path)}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_no_secret_value_appears_anywhere_in_the_render(any_render: Render) -> None:
    """Generated passwords, keys and encrypted config values are masked in manifests, Helm values and inventory."""
    render = any_render
    assert render.secret_values, "every stack generates secrets: an empty list means the render lost track of them"
    assert {placeholder_secret(key) for key in render.secret_keys} <= render.secret_values
    leaks = [
        f"{path.relative_to(render.path)} contains a secret value"
        for path in render.path.rglob("*")
        if path.is_file() and any(secret in path.read_text() for secret in render.secret_values)
    ]
    assert not leaks, "\n".join(leaks)


def test_inventory_lists_every_resource_with_type_name_and_parent(any_render: Render) -> None:
    render = any_render
    for resource in render.resources:
        assert resource["type"]
        assert resource["name"]
        assert "parent" in resource
        assert "inputs" in resource
    assert len({(r["type"], r["name"], r["parent"]) for r in render.resources}) == len(render.resources)
