"""The CrossGuard adapter: each rule of ``infra.policy.catalog`` as a Pulumi policy, and the pack that serves them.

Kept thin on purpose: it converts CrossGuard's arguments to ``Resource`` (unknown preview values become sentinels the
rules skip, instead of errors that abort the policy) and reports each ``Violation``. The default enforcement is
advisory; ``--policy-pack-config infra/policy/config/prod.json`` makes every rule mandatory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from infra.policy.catalog import RESOURCE_RULES, STACK_RULES
from infra.policy.model import Resource, ResourceRule, StackRule, is_sequence

PACK_NAME = "helpline"


def plain(value: Any) -> Any:
    """CrossGuard's unknown-checking proxies as plain dicts and lists, unknown values kept as their sentinels."""
    if isinstance(value, Mapping):
        return {str(key): plain(_item(value, key)) for key in value}
    if is_sequence(value):
        return [plain(_item(value, index)) for index in range(len(value))]
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError as unknown:
        return unknown.unknown_type_sentinel


def _schema(rule: ResourceRule | StackRule) -> PolicyConfigSchema | None:
    properties = {name: dict(spec) for name, spec in rule.config_schema.items()}
    return PolicyConfigSchema(properties=properties) if properties else None


def resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = Resource(args.resource_type, args.name, plain(args.props), args.urn)
        for violation in rule.evaluate(resource, args.get_config()):
            report_violation(f"{violation.resource}: {violation.message}", None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        config_schema=_schema(rule),
        remediation_steps=rule.remediation,
    )


def stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [Resource(r.resource_type, r.name, plain(r.props), r.urn) for r in args.resources]
        for violation in rule.evaluate(resources, args.get_config()):
            report_violation(f"{violation.resource}: {violation.message}", violation.urn or None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        config_schema=_schema(rule),
        remediation_steps=rule.remediation,
    )


def policies() -> list[Policy]:
    return [*map(resource_policy, RESOURCE_RULES), *map(stack_policy, STACK_RULES)]


def serve() -> None:
    """Start the analyzer (blocks; the Pulumi CLI runs this through ``__main__.py``)."""
    PolicyPack(
        name=PACK_NAME,
        policies=policies(),
        enforcement_level=EnforcementLevel.ADVISORY,
        description="Helpline guardrails: pod security, TLS at the edge, encrypted and private data, pinned images.",
    )
