"""The whole stack's config: one frozen model built from flat Pulumi config keys, validated before any resource.

``parse_stack_config`` is pure (a mapping in, a model or a ``StackConfigError`` out) so it is tested without
the Pulumi runtime; ``load_stack_config`` feeds it from the running Pulumi program.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterator, Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from stacks.config.base import NAMESPACE, ConfigIssue, ConfigSection, StackConfigError
from stacks.config.cluster import ClusterConfig
from stacks.config.data import DataConfig
from stacks.config.placeholders import placeholder_issues
from stacks.config.platform import PlatformConfig
from stacks.config.services import ServicesConfig
from stacks.config.serving import ServingConfig

#: Section name -> model. Order is the order of the README table and of Pulumi.yaml.
SECTIONS: dict[str, type[ConfigSection]] = {
    "cluster": ClusterConfig,
    "serving": ServingConfig,
    "platform": PlatformConfig,
    "data": DataConfig,
    "services": ServicesConfig,
}


class StackConfig(BaseModel):
    """Everything a stack is configured with. Secret values are not in here: see ``stacks.config.secrets``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stack: str
    cluster: ClusterConfig
    serving: ServingConfig
    platform: PlatformConfig
    data: DataConfig
    services: ServicesConfig

    @property
    def environment(self) -> str:
        return self.cluster.environment

    @property
    def cloud(self) -> str:
        return self.cluster.cloud

    @property
    def is_prod(self) -> bool:
        return self.cluster.is_prod


def iter_keys() -> Iterator[tuple[str, str, FieldInfo]]:
    """Every declared key as (section, pulumi key, field), in declaration order."""
    for section, model in SECTIONS.items():
        for field in model.model_fields.values():
            assert field.alias, f"{model.__name__} field without a Pulumi key"
            yield section, field.alias, field


def is_secret(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("pulumi_secret"))


def _is_list(field: FieldInfo) -> bool:
    return get_origin(field.annotation) is list or field.annotation is list


def _coerce(key: str, field: FieldInfo, raw: Any) -> Any:
    """Pulumi hands every value over as a string; arrays arrive as JSON text."""
    if _is_list(field) and isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _IssueError(ConfigIssue(key, raw, f"must be a YAML/JSON list ({exc.msg})")) from exc
    return raw


class _IssueError(Exception):
    def __init__(self, issue: ConfigIssue) -> None:
        self.issue = issue


def _allowed_hint(field: FieldInfo) -> str:
    args = get_args(field.annotation)
    if args and all(isinstance(arg, str) for arg in args):
        return " (allowed: " + ", ".join(args) + ")"
    return ""


def _validation_issues(error: ValidationError, sections: Mapping[str, Mapping[str, Any]]) -> list[ConfigIssue]:
    issues = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        section, pulumi_key = loc[0], loc[1] if len(loc) > 1 else loc[0]
        field = next((f for f in SECTIONS[section].model_fields.values() if f.alias == pulumi_key), None)
        value = sections.get(section, {}).get(pulumi_key, item.get("input"))
        message = item["msg"].removeprefix("Value error, ")
        hint = _allowed_hint(field) if field is not None and "Input should be" not in message else ""
        where = f" (item {loc[2]})" if len(loc) > 2 else ""
        issues.append(ConfigIssue(pulumi_key, value, f"{message}{where}{hint}"))
    return issues


def _rule_issues(config: StackConfig) -> list[ConfigIssue]:
    """The cross-key rules of every section, then the prod placeholders."""
    found = config.cluster.issues()
    for name in SECTIONS:
        if name != "cluster":
            found.extend(getattr(config, name).issues(config.cluster))
    return found + placeholder_issues(config)


def _rules_without(
    invalid: list[ConfigIssue], stack: str, sections: Mapping[str, Mapping[str, Any]]
) -> list[ConfigIssue]:
    """The cross-key rules, with the keys that failed validation left at their defaults, so one run lists every
    issue (a type error no longer hides a missing region); rules about those keys are left out (they were said)."""
    bad = {issue.key for issue in invalid}
    rest = {name: {k: v for k, v in values.items() if k not in bad} for name, values in sections.items()}
    try:
        config = StackConfig.model_validate({"stack": stack, **rest})
    except ValidationError:
        return []
    return [issue for issue in _rule_issues(config) if issue.key not in bad]


def parse_stack_config(stack: str, values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> StackConfig:
    """Validate flat ``helpline`` keys (namespace stripped) into a ``StackConfig`` or raise ``StackConfigError``.

    ``secret_keys`` are the keys Pulumi holds encrypted; a secret key set in plain text is refused, and a
    plain key set as a secret is accepted (Pulumi decrypts it for us).
    """
    by_key = {pulumi_key: (section, field) for section, pulumi_key, field in iter_keys()}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    issues: list[ConfigIssue] = []
    for pulumi_key, raw in values.items():
        if pulumi_key not in by_key:
            close = difflib.get_close_matches(pulumi_key, list(by_key), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "see the config key table in README.md"
            issues.append(ConfigIssue(pulumi_key, raw, f"unknown config key; {hint}"))
            continue
        section, field = by_key[pulumi_key]
        if is_secret(field):
            if pulumi_key not in secret_keys:
                issues.append(
                    ConfigIssue(
                        pulumi_key,
                        "<plain text>",
                        f"must be set with `pulumi config set --secret {pulumi_key}`",
                    )
                )
            sections[section][pulumi_key] = True  # the model records only that the secret is set
            continue
        try:
            sections[section][pulumi_key] = _coerce(pulumi_key, field, raw)
        except _IssueError as exc:
            issues.append(exc.issue)
    try:
        config = StackConfig.model_validate({"stack": stack, **sections})
    except ValidationError as exc:
        invalid = _validation_issues(exc, sections)
        raise StackConfigError(issues + invalid + _rules_without(invalid, stack, sections)) from None
    issues.extend(_rule_issues(config))
    if issues:
        raise StackConfigError(issues)
    return config


def load_stack_config() -> StackConfig:
    """Read the running Pulumi program's config (stack file merged with Pulumi.yaml defaults) and validate it."""
    import pulumi  # noqa: PLC0415  (keeps parse_stack_config importable without the Pulumi runtime)
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    values = {name[len(prefix) :]: value for name, value in merged.items() if name.startswith(prefix)}
    secret_keys = {
        name[len(prefix) :]
        for name in [*runtime_config.get_config_secret_keys_env(), *runtime_config._SECRET_KEYS.get()]
        if name.startswith(prefix)
    }
    return parse_stack_config(pulumi.get_stack(), values, secret_keys)
