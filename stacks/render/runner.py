"""Evaluate a stack's program under Pulumi's mocks runtime: no CLI, no credentials, no cloud."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from stacks.render.recorder import SECRET_MASK, FabricatingMocks, RecordedResource, RecordingMonitor
from stacks.render.stack_files import StackSettings, placeholder_secret


@dataclass(frozen=True)
class RenderResult:
    settings: StackSettings
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    #: every secret value the render knows of (fabricated or placeholder); none may appear in clear
    secret_values: frozenset[str]


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, value in sorted(outputs.items()):
        output = pulumi.Output.from_input(value)
        resolved[name] = SECRET_MASK if await output.is_secret() else await output.future()
    return resolved


def render_program(settings: StackSettings) -> RenderResult:
    """Run ``stacks.program.main`` once in this process (one render per process: Pulumi's runtime is global)."""
    pulumi.runtime.set_all_config(settings.config, sorted(settings.secret_keys))
    mocks_impl = FabricatingMocks(settings.project, settings.stack)
    monitor = RecordingMonitor(mocks_impl)
    pulumi.runtime.set_mocks(mocks_impl, project=settings.project, stack=settings.stack, preview=False, monitor=monitor)
    from stacks.program import main  # noqa: PLC0415  (after the mocks are in place, as Pulumi requires)

    _sync_await(run_pulumi_func(main))
    root = pulumi.runtime.get_root_resource()
    outputs = _sync_await(_resolve_outputs(dict(getattr(root, "outputs", {})))) if root is not None else {}
    secrets = set(mocks_impl.fabricated_secrets)
    secrets.update(placeholder_secret(key) for key in settings.secret_keys)
    resources = sorted(monitor.recorded.values(), key=lambda r: r.urn)
    return RenderResult(settings, resources, outputs, frozenset(secrets))
