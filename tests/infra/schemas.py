"""Strict schema validation of rendered objects: core API via kubernetes-validate, custom resources via the
CRD schemas in ``../shared/crd-schemas`` (whose nested objects refuse unknown fields), or, for kinds the catalog
lacks, the CRD in the chart archive that installs them (chart_crds.py)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema
from jsonschema import validators
from jsonschema.protocols import Validator
from kubernetes_validate import utils as kubernetes_schemas
from referencing import Registry, Resource

from tests.infra.chart_crds import chart_crd_schemas
from tests.support.shared_data import shared_dir, shared_file

#: API groups served by Kubernetes itself (validated by kubernetes-validate for the cluster's version).
CORE_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "apiregistration.k8s.io",
    }
)


def group_and_version(api_version: str) -> tuple[str, str]:
    return tuple(api_version.split("/", 1)) if "/" in api_version else ("", api_version)  # type: ignore[return-value]


@cache
def _crd_validator(group: str, kind: str, version: str) -> Validator:
    relative = f"{group}/{kind.lower()}_{version}.json"
    if not (shared_dir() / "crd-schemas").exists() or (shared_dir() / "crd-schemas" / relative).exists():
        schema = json.loads(shared_file("crd-schemas", relative).read_text())
    elif (group, kind.lower(), version) in chart_crd_schemas():
        # a kind the catalog lacks, from the CRD in the chart that installs it (chart_crds.py)
        schema = chart_crd_schemas()[(group, kind.lower(), version)]
    else:
        raise AssertionError(f"no CRD schema {relative} in {shared_dir() / 'crd-schemas'}: cannot validate {kind}")
    validator_class = validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return validator_class(schema)


@cache
def _core_validator(kubernetes_version: str, kind: str, api_version: str) -> tuple[Validator, str]:
    """What ``kubernetes_validate.validate(..., strict=True)`` checks, built once per kind and version.

    The library reads and parses its (megabytes of) shared definitions and builds a validator on every call; a session
    validates thousands of objects, so the validator (and the references it has resolved) is kept instead.
    """
    wanted = kubernetes_schemas.major_minor(kubernetes_version)
    if wanted > kubernetes_schemas.latest_version():
        raise kubernetes_schemas.VersionNotSupportedError(version=wanted)
    version = [v for v in kubernetes_schemas.all_versions() if kubernetes_schemas.major_minor(v) <= wanted][-1]
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    file_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kubernetes_schemas.schema_contents(f"{folder}/{kind.lower()}-{file_version}.json", wanted)
    except FileNotFoundError:
        raise kubernetes_schemas.SchemaNotFoundError(version=wanted, kind=kind, api_version=api_version) from None
    definitions = kubernetes_schemas.schema_contents(f"{folder}/_definitions.json", wanted)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    schema_version = kubernetes_schemas.major_minor(version)
    return validators.Draft202012Validator(schema, registry=registry), schema_version


def _validate_core(obj: dict[str, Any], kubernetes_version: str) -> None:
    validator, schema_version = _core_validator(kubernetes_version, obj["kind"], obj["apiVersion"])
    try:
        validator.validate(obj)
    except jsonschema.ValidationError as error:
        raise kubernetes_schemas.ValidationError(error, version=schema_version) from None


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> None:
    """Raise with a readable message when ``obj`` is not a valid object for the cluster's version."""
    group, version = group_and_version(obj["apiVersion"])
    if group in CORE_GROUPS:
        _validate_core(obj, kubernetes_version)
        return
    errors = sorted(_crd_validator(group, obj["kind"], version).iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:5])
        raise AssertionError(f"{obj['kind']} {obj['metadata'].get('name')}: {details}")
    # CRD schemas leave metadata open; hold it to the core ObjectMeta schema through a stand-in object.
    _validate_core({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}, kubernetes_version)
