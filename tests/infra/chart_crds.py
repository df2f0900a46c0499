"""CRD schemas read from the chart archives that install them, for custom resources ``../shared/crd-schemas`` lacks.

Envoy Gateway's policy kinds (ClientTrafficPolicy, BackendTrafficPolicy) are not in the shared catalog, but their
CRDs ship in the gateway-helm archive we template. The CRD's ``openAPIV3Schema`` is made strict the way the
catalog's schemas are (every object that lists its properties and does not preserve unknown fields refuses others),
so a misspelt field fails here as the API server's structural pruning would drop it there.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from functools import cache
from typing import Any

import yaml

from tests.infra.chart_output import archives


class _CrdLoader(yaml.SafeLoader):
    """Safe loading, plus YAML 1.1's ``=`` (the value key type) that some CRDs hold as a plain enum string."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def _crd_documents() -> Iterator[dict[str, Any]]:
    for archive in archives():
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                # Helm installs a chart's crds/ folder as is; templates/ (even under a crds subchart) is templated
                if not (member.isfile() and "crds" in parts[:-1] and "templates" not in parts):
                    continue
                if not member.name.endswith((".yaml", ".yml")):
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                for document in yaml.load_all(handle.read(), Loader=_CrdLoader):
                    if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                        yield document


def strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` wherever an object lists its properties and keeps no others."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


@cache
def chart_crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, lower-case kind, version) -> strict JSON schema, for every CRD in every chart archive."""
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for crd in _crd_documents():
        spec = crd["spec"]
        for version in spec.get("versions", []):
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema:
                key = (spec["group"], spec["names"]["kind"].lower(), version["name"])
                schemas[key] = strict(schema)
    return schemas
