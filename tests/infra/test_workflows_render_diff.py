"""The PR render diff (stacks/render_diff) on two small synthetic renders written by the render's own writer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stacks.render.artifacts import write_render
from stacks.render.recorder import RecordedResource
from stacks.render_diff.__main__ import main
from stacks.render_diff.compare import changed_paths, compare, resource_label
from stacks.render_diff.markdown import GITHUB_COMMENT_LIMIT, MARKER, render_comment

STACK_URN = "urn:pulumi:dev::helpline::pulumi:pulumi:Stack::helpline-dev"


def recorded(type_token: str, name: str, inputs: dict[str, Any]) -> RecordedResource:
    urn = f"urn:pulumi:dev::helpline::{type_token}::{name}"
    return RecordedResource(urn, type_token, name, True, STACK_URN, None, [], inputs)


def deployment(replicas: int, image: str = "ghcr.io/x/helpline@sha256:" + "a" * 64) -> RecordedResource:
    return recorded(
        "kubernetes:apps/v1:Deployment",
        "gateway",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "gateway", "namespace": "helpline-dev-app"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "gateway", "image": image}]}}},
        },
    )


def config_map() -> RecordedResource:
    return recorded(
        "kubernetes:core/v1:ConfigMap",
        "settings",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "helpline-dev-app"}},
    )


def service() -> RecordedResource:
    return recorded(
        "kubernetes:core/v1:Service",
        "gateway",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "gateway", "namespace": "helpline-dev-app"},
            "spec": {"ports": [{"port": 8080}]},
        },
    )


def bucket(versioned: bool) -> RecordedResource:
    return recorded("aws:s3/bucket:Bucket", "models", {"bucketPrefix": "helpline-dev-models-", "versioned": versioned})


def release(version: str) -> RecordedResource:
    return recorded(
        "kubernetes:helm.sh/v3:Release",
        "cert-manager",
        {"chart": "cert-manager", "version": version, "values": {"replicaCount": 1}},
    )


@pytest.fixture
def renders(tmp_path: Path) -> tuple[Path, Path]:
    """base: gateway x2, a ConfigMap, bucket, cert-manager 1.20; head: gateway x3 on a new image, a Service instead
    of the ConfigMap, the bucket versioned, cert-manager 1.21, a new output; prod-aws identical on both sides."""
    base, head = tmp_path / "base", tmp_path / "head"
    write_render(base / "dev-aws", [deployment(2), config_map(), bucket(False), release("v1.20.0")], {"url": "a"})
    write_render(
        head / "dev-aws",
        [deployment(3, "ghcr.io/x/helpline@sha256:" + "b" * 64), service(), bucket(True), release("v1.21.0")],
        {"url": "a", "gatewayHost": "chat.example.com"},
    )
    for root in (base, head):
        write_render(root / "prod-aws", [deployment(3)], {})
    return base, head


def test_added_removed_and_changed_resources(renders: tuple[Path, Path]) -> None:
    base, head = renders
    diff = compare("dev-aws", base / "dev-aws", head / "dev-aws")
    assert diff.added == ["Service helpline-dev-app/gateway"]
    assert diff.removed == ["ConfigMap helpline-dev-app/settings"]
    changed = {c.label: c.paths for c in diff.changed}
    assert changed == {
        "Deployment helpline-dev-app/gateway": ("spec.replicas", "spec.template.spec.containers[0].image"),
        "Helm release cert-manager (cert-manager v1.21.0)": ("version",),
        "aws:s3/bucket:Bucket models": ("versioned",),
    }
    assert diff.outputs_changed == ["gatewayHost"]
    assert set(diff.file_diffs) == {
        "manifests/helpline-dev-app/deployment-gateway.yaml",
        "manifests/helpline-dev-app/configmap-settings.yaml",
        "manifests/helpline-dev-app/service-gateway.yaml",
        "helm/cert-manager.yaml",
        "cloud/aws:s3/bucket:Bucket/-/models",
    }
    deployment_diff = diff.file_diffs["manifests/helpline-dev-app/deployment-gateway.yaml"]
    assert "-  replicas: 2\n+  replicas: 3\n" in deployment_diff
    assert diff.file_diffs["manifests/helpline-dev-app/configmap-settings.yaml"].splitlines()[1] == "+++ /dev/null"


def test_comment_summarises_then_folds_the_diff(renders: tuple[Path, Path]) -> None:
    base, head = renders
    diffs = [compare(s, base / s, head / s) for s in ("dev-aws", "prod-aws")]
    comment = render_comment(diffs, footer="Compared abc123..def456")
    assert comment.startswith(MARKER + "\n")
    assert "1 of 2 renders change." in comment
    assert "### `dev-aws`: +1 added, -1 removed, ~3 changed" in comment
    assert "### `prod-aws`: no change" in comment
    assert "- `Service helpline-dev-app/gateway`" in comment
    assert (
        "- `Deployment helpline-dev-app/gateway`: `spec.replicas`, `spec.template.spec.containers[0].image`" in comment
    )
    assert "**Stack outputs changed**\n- `gatewayHost`" in comment
    summary_end = comment.index("<details>")
    assert "+  replicas: 3" not in comment[:summary_end], "the unified diff stays folded"
    assert "<summary>Unified diff of <code>dev-aws</code> (5 files)</summary>" in comment
    assert "+  replicas: 3" in comment[summary_end:]
    assert comment.rstrip().endswith("Compared abc123..def456")


def test_comment_is_bounded_however_large_the_change(renders: tuple[Path, Path]) -> None:
    base, head = renders
    diff = compare("dev-aws", base / "dev-aws", head / "dev-aws")
    huge = copy.deepcopy(diff)
    huge.added = [f"ConfigMap helpline-dev-app/generated-{i}" for i in range(5000)]
    huge.file_diffs = {f"manifests/x/configmap-{i}.yaml": "+data: " + "x" * 200 + "\n" for i in range(3000)}
    others = [copy.deepcopy(huge) for _ in range(3)]
    for index, other in enumerate(others):
        other.stack = f"stack-{index}"
    for limit in (5_000, 20_000, 60_000):
        comment = render_comment([huge, *others], max_chars=limit)
        assert len(comment) <= limit
        assert "... and 4960 more" in comment or "diff truncated" in comment
    comment = render_comment([huge, *others], max_chars=60_000)
    assert comment.count("<details>") == comment.count("</details>") == 4, "every stack gets a share of the diff"
    assert "diff truncated here" in comment


def test_missing_renders_are_reported_not_raised(tmp_path: Path, renders: tuple[Path, Path]) -> None:
    base, head = renders
    failed = compare("dev-gcp", base / "dev-gcp", head / "dev-gcp-missing")
    assert failed.base_missing
    assert failed.head_missing
    new = compare("dev-aws", tmp_path / "nothing", head / "dev-aws")
    comment = render_comment([new, compare("prod-gcp", base / "prod-aws", tmp_path / "nothing")])
    assert "New render (nothing to compare on the base branch)." in comment
    assert ":x: no render on the pull request's head" in comment


def test_cli_writes_comment_and_full_diff(renders: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = renders
    out, full = tmp_path / "out" / "comment.md", tmp_path / "out" / "full.diff"
    assert main(["--base", str(base), "--head", str(head), "--out", str(out), "--full-diff", str(full)]) == 0
    assert out.read_text().startswith(MARKER)
    assert "+  replicas: 3" in full.read_text()
    with pytest.raises(SystemExit):
        main(["--base", str(base), "--head", str(head), "--max-chars", str(GITHUB_COMMENT_LIMIT + 1)])


def test_changed_paths_and_labels_are_plain_functions() -> None:
    assert list(changed_paths({"a": {"b": 1, "c": [1, 2]}}, {"a": {"b": 2, "c": [1, 3]}})) == ["a.b", "a.c[1]"]
    assert list(changed_paths({"a": [1]}, {"a": [1, 2]})) == ["a"]
    assert list(changed_paths(1, 1)) == []
    assert resource_label({"type": "aws:kms/key:Key", "name": "k", "inputs": {}}) == "aws:kms/key:Key k"
    namespace = {"type": "kubernetes:core/v1:Namespace", "name": "n", "inputs": {"metadata": {"name": "ns"}}}
    assert resource_label(namespace) == "Namespace ns"
