"""Pulumi's mocks runtime, extended to record what the offline render needs.

``pulumi.runtime.set_mocks`` answers every resource registration from our ``Mocks``; the recording monitor
also keeps each registration's parent, provider, dependencies and inputs *before* deserialisation, so that
values Pulumi holds as secrets can be masked instead of being written out in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import mocks, rpc

from stacks.render.outputs import fabricate_outputs

SECRET_MASK = "[secret]"  # noqa: S105  (the mask, not a secret)
UNKNOWN_MARK = "[unknown]"


@dataclass
class RecordedResource:
    """One registered resource: what the inventory lists and the manifests are built from."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: list[str]
    inputs: dict[str, Any]  # secrets already replaced by SECRET_MASK
    secret_paths: list[str] = field(default_factory=list)


def _masked(secret: Any) -> Any:
    """A secret map (a Secret's ``stringData`` built from a secret Output) keeps its keys: they say what is mounted."""
    if isinstance(secret, dict):
        return dict.fromkeys(secret, SECRET_MASK)
    return SECRET_MASK


def _unwrap(value: Any, path: str, secret_paths: list[str]) -> Any:  # noqa: PLR0911  (one return per wire type)
    """Turn Pulumi's wire encoding into plain data: secrets masked, resource references as URNs."""
    if isinstance(value, dict):
        signature = value.get(rpc._special_sig_key)
        if signature == rpc._special_secret_sig:
            secret_paths.append(path or "$")
            return _masked(value.get("value"))
        if signature == rpc._special_resource_sig:
            return {"$resource": value.get("urn")}
        if signature == rpc._special_output_value_sig:
            if value.get("secret"):
                secret_paths.append(path or "$")
                return _masked(value.get("value"))
            return _unwrap(value.get("value"), path, secret_paths) if "value" in value else UNKNOWN_MARK
        if signature in (rpc._special_asset_sig, rpc._special_archive_sig):
            return {"$asset": value.get("path") or value.get("uri") or "<inline>"}
        return {k: _unwrap(v, f"{path}.{k}" if path else k, secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(item, f"{path}[{index}]", secret_paths) for index, item in enumerate(value)]
    if value == rpc.UNKNOWN:
        return UNKNOWN_MARK
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct has only doubles; Kubernetes schemas want integers back
    return value


class FabricatingMocks(mocks.Mocks):
    """Answers registrations with deterministic, type-appropriate outputs (ids, ARNs, endpoints, passwords)."""

    def __init__(self, project: str, stack: str) -> None:
        self.project = project
        self.stack = stack
        self.fabricated_secrets: set[str] = set()

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        outputs, secrets = fabricate_outputs(args.typ, args.name, dict(args.inputs), self.stack)
        self.fabricated_secrets.update(secrets)
        resource_id = args.resource_id or f"{args.name}-{hashlib.sha256(args.typ.encode()).hexdigest()[:8]}"
        return resource_id, outputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(
            f"the program invoked {args.token}; the offline render keeps the program free of data-source "
            "lookups (take the value from config instead) so that it is the same with and without a cloud"
        )


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that remembers every registration in full."""

    def __init__(self, mocks_impl: FabricatingMocks) -> None:
        super().__init__(mocks_impl)
        self.recorded: dict[str, RecordedResource] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802  (the gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        secret_paths: list[str] = []
        inputs = _unwrap(raw, "", secret_paths)
        self.recorded[response.urn] = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=request.provider.split("::", 3)[-1] if request.provider else None,
            dependencies=sorted(set(request.dependencies)),
            inputs=inputs,
            secret_paths=secret_paths,
        )
        return response
