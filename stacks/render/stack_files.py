"""Read a stack's config the way the Pulumi CLI would: project defaults from Pulumi.yaml, then the stack file.

Encrypted values (``secure: v1:...``) cannot be decrypted without the stack's secrets provider, so the offline
render substitutes a recognisable placeholder and marks the key secret; the program then treats it exactly
like a real secret (wrapped, masked in the render, never in a manifest outside a Secret).
"""

from __future__ import annotations

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


def load_stack_settings(stack: str, cloud: str | None = None, root: Path = ROOT) -> StackSettings:
    """Merge Pulumi.yaml defaults with Pulumi.<stack>.yaml; ``cloud`` overrides ``helpline:cloud``."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    stack_path = root / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        known = sorted(p.name.split(".")[1] for p in root.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack file {stack_path.name}; known stacks: {', '.join(known)}")
    stack_file = yaml.safe_load(stack_path.read_text()) or {}
    name = project["name"]
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
