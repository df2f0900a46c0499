"""What a rule sees and what it reports, as plain data: rules are tested as functions, without Pulumi.

A ``Resource`` is a resource's type token, logical name and inputs (camelCase, as the engine and CrossGuard see them).
Values the engine cannot know during a preview arrive as sentinel strings; rules treat them as "cannot tell" and stay
quiet, so a preview never fails on a value that only the update will know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: CrossGuard's unknown sentinels (pulumi_policy.proxy.UNKNOWN_*_VALUE) and the offline render's mark.
UNKNOWN_VALUES = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
        "[unknown]",
    }
)

Config = Mapping[str, Any]


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_VALUES


def lookup(value: Any, *path: str | int) -> Any:
    """``value[path[0]][path[1]]...``, or None when any step is missing, unknown or of the wrong shape."""
    for step in path:
        if isinstance(step, str) and isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(step, int) and is_sequence(value) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
        if is_unknown(value):
            return None
    return value


def unknown_along(value: Any, *path: str) -> bool:
    """True when a step of ``path`` (or the value at its end) is unknown: the rule cannot tell yet."""
    for step in path:
        if is_unknown(value):
            return True
        value = value.get(step) if isinstance(value, Mapping) else None
    return is_unknown(value)


def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """A list input as a list (empty when absent or unknown)."""
    return list(value) if is_sequence(value) else []


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it; ``urn`` is set under CrossGuard (violations of stack rules point at it)."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:") and not self.type.startswith("kubernetes:helm.sh/")

    @property
    def kind(self) -> str:
        """``Deployment`` for ``kubernetes:apps/v1:Deployment``; the type's last segment otherwise."""
        return self.type.rsplit(":", 1)[-1]

    @property
    def label(self) -> str:
        """How a violation names the resource: ``Deployment helpline-dev-app/gateway`` or ``<type> <name>``."""
        if self.is_kubernetes:
            metadata = mapping(self.props.get("metadata"))
            name = metadata.get("name") if isinstance(metadata.get("name"), str) else self.name
            namespace = metadata.get("namespace")
            return f"{self.kind} {namespace}/{name}" if isinstance(namespace, str) else f"{self.kind} {name}"
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    message: str
    urn: str = ""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


ResourceCheck = Callable[[Resource, Config], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Config], Iterable[tuple[Resource, str]]]


def effective_config(schema: Mapping[str, Mapping[str, Any]], given: Config | None) -> dict[str, Any]:
    """Schema defaults overlaid with what the pack config sets (the CLI may or may not have applied defaults)."""
    config = {name: spec["default"] for name, spec in schema.items() if "default" in spec}
    config.update({name: value for name, value in (given or {}).items() if name in schema})
    return config


@dataclass(frozen=True)
class ResourceRule:
    """A rule over one resource at a time (CrossGuard ``ResourceValidationPolicy``)."""

    name: str
    description: str
    remediation: str
    check: ResourceCheck
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def evaluate(self, resource: Resource, config: Config | None = None) -> list[Violation]:
        settings = effective_config(self.config_schema, config)
        return [
            Violation(self.name, resource.label, message, resource.urn) for message in self.check(resource, settings)
        ]


@dataclass(frozen=True)
class StackRule:
    """A rule that relates resources to each other (CrossGuard ``StackValidationPolicy``)."""

    name: str
    description: str
    remediation: str
    check: StackCheck
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def evaluate(self, resources: Sequence[Resource], config: Config | None = None) -> list[Violation]:
        settings = effective_config(self.config_schema, config)
        return [
            Violation(self.name, resource.label, message, resource.urn)
            for resource, message in self.check(resources, settings)
        ]
