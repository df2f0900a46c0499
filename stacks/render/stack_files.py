"""Read a stack's config the way the Pulumi CLI would: project defaults from Pulumi.yaml, then the stack file.

Encrypted values (``secure: v1:...``) cannot be decrypted without the stack's secrets provider, so the offline
render substitutes a recognisable placeholder and marks the key secret; the program then treats it exactly
like a real secret (wrapped, masked in the render, never in a manifest outside a Secret).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def placeholder_secret(key: str) -> str:
    """The stand-in for an encrypted config value; tests scan renders for these to prove nothing leaks."""
    return f"offline-render-secret-{key.replace(':', '-')}"


@dataclass(frozen=True)
class StackSettings:
    stack: str
    project: str
    config: dict[str, str]  # fully qualified ("helpline:cloud") -> value as Pulumi passes it (a string)
    secret_keys: frozenset[str]


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


#: Namespaces Pulumi's providers own: keys under them are theirs to validate, never ours.
PROVIDER_NAMESPACES = frozenset({"aws", "gcp", "kubernetes", "pulumi"})


class StackFileError(ValueError):
    """A stack or project file that cannot be read as config: the message names the file and where (exit 2)."""


def _read_yaml(path: Path) -> Any:
    """The file's YAML; a syntax error names the file, line and column instead of a parser traceback."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StackFileError(f"{path.name}{where}: invalid YAML: {problem}") from None


def _namespace_issues(path: Path, keys: list[str], project: str) -> list[str]:
    """Keys under a namespace that is neither the project's nor a provider's: a typo that would be ignored."""
    issues = []
    for key in keys:
        namespace, _, name = key.partition(":")
        if namespace in PROVIDER_NAMESPACES or namespace == project:
            continue
        close = difflib.get_close_matches(namespace, [project, *sorted(PROVIDER_NAMESPACES)], n=1)
        hint = f"did you mean {close[0]}:{name}?" if close else f"project keys are {project}:<key>"
        issues.append(f"{path.name}: {key}: unknown config namespace {namespace!r}; {hint}")
    return issues


def load_stack_settings(stack: str, cloud: str | None = None, root: Path = ROOT) -> StackSettings:
    """Merge Pulumi.yaml defaults with Pulumi.<stack>.yaml; ``cloud`` overrides ``helpline:cloud``."""
    project = _read_yaml(root / "Pulumi.yaml")
    stack_path = root / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        known = sorted(p.name.split(".")[1] for p in root.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack file {stack_path.name}; known stacks: {', '.join(known)}")
    stack_file = _read_yaml(stack_path) or {}
    name = project["name"]
    stack_keys = [key for key in (stack_file.get("config") or {}) if ":" in key]
    if issues := _namespace_issues(stack_path, stack_keys, name):
        raise StackFileError("\n".join(issues))
    config: dict[str, str] = {}
    for key, declaration in (project.get("config") or {}).items():
        if isinstance(declaration, dict) and "default" in declaration:
            config[key] = _as_config_string(declaration["default"])
    secret_keys: set[str] = set()
    for key, value in (stack_file.get("config") or {}).items():
        qualified = key if ":" in key else f"{name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[qualified] = placeholder_secret(qualified)
            secret_keys.add(qualified)
        else:
            config[qualified] = _as_config_string(value)
    if cloud is not None:
        config[f"{name}:cloud"] = cloud
    return StackSettings(stack=stack, project=name, config=config, secret_keys=frozenset(secret_keys))
