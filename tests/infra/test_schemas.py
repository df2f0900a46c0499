"""The cached core-API validator in schemas.py agrees with ``kubernetes_validate.validate`` (which it replaces because
it re-reads megabytes of definitions per object)."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tests.infra.schemas import validate_object

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx@sha256:" + "0" * 64}]},
        },
    },
}


def _with(path: list[str], key: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(DEPLOYMENT)
    target = obj
    for part in path:
        target = target[part]
    target[key] = value
    return obj


def test_a_valid_object_passes_both() -> None:
    kubernetes_validate.validate(DEPLOYMENT, "1.34", strict=True)
    validate_object(DEPLOYMENT, "1.34")


@pytest.mark.parametrize(
    "broken",
    [
        _with(["spec"], "replicas", "two"),  # wrong type
        _with(["spec", "template", "spec"], "hostNetwrok", True),  # unknown field (strict)
        _with(["metadata"], "labelz", {}),  # unknown field in the shared ObjectMeta definition
    ],
    ids=["type", "unknown-field", "unknown-metadata-field"],
)
def test_an_invalid_object_fails_both_with_the_same_message(broken: dict[str, Any]) -> None:
    with pytest.raises(kubernetes_validate.ValidationError) as expected:
        kubernetes_validate.validate(broken, "1.34", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError) as cached:
        validate_object(broken, "1.34")
    assert str(cached.value) == str(expected.value)


def test_an_unknown_kind_is_refused_like_the_library_does() -> None:
    unknown = {**DEPLOYMENT, "apiVersion": "apps/v9"}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(unknown, "1.34", strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate_object(unknown, "1.34")
