"""Every argument list a rendered engine container gets, parsed by the pinned vLLM's own ``vllm serve`` parser.

Offline and without a GPU: ``tests/support/vllm_argcheck.py`` runs in the vLLM tool env (``make vllm-env``) and
builds the parser exactly as the ``vllm`` console script does, then its serve-args validation and ``EngineArgs``.
Every engine Deployment of every render (dev/prod x aws/gcp and the variants; the simulator takes the very same
list) is checked; a flag vLLM does not know fails with the flag's name and the Deployment it is in.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.core.waits import scaled
from infra.serving.engine_args import engine_args
from stacks.config.serving import ServingConfig
from tests.infra.rendering import Render
from tests.support.vllm_fixtures import vllm_env_or_skip
from tests.support.vllm_server import VllmEnv

ARGCHECK = Path(__file__).resolve().parents[1] / "support" / "vllm_argcheck.py"
ENGINE_CONTAINER = "engine"
#: Flags the seed's compose file passed that vLLM no longer knows (ARCHITECTURE.md): the parser must name them.
REMOVED_FLAGS = ["--swap-space", "4", "--disable-log-requests"]
#: The default chat model, for options no committed stack turns on (their flags must parse too).
DEFAULT_CHAT = ServingConfig.model_validate({}).model("chat")


def engine_arg_lists(renders: dict[str, Render]) -> dict[str, list[str]]:
    """``<render>/<namespace>/<deployment>`` -> the engine container's args, for every engine of every render."""
    lists: dict[str, list[str]] = {}
    for render in renders.values():
        for deployment in render.objects("Deployment"):
            meta = deployment["metadata"]
            if meta.get("labels", {}).get("app.kubernetes.io/component") != ENGINE_CONTAINER:
                continue
            (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "engine"]
            lists[f"{render.id}/{meta['namespace']}/{meta['name']}"] = container["args"]
    return lists


def parse_with_vllm(env: VllmEnv, lists: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """vLLM's verdict on each list (``unknown`` flags, ``error``), from one run of the tool env's python."""
    result = subprocess.run(  # the tool env's python, our script
        [str(env.python), str(ARGCHECK)],
        input=json.dumps(lists),
        capture_output=True,
        text=True,
        check=False,
        timeout=scaled(180),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def vllm_env() -> VllmEnv:
    return vllm_env_or_skip()


@pytest.fixture(scope="module")
def verdicts(vllm_env: VllmEnv, all_renders: dict[str, Render]) -> dict[str, dict[str, Any]]:
    lists = engine_arg_lists(all_renders)
    some = next(iter(lists.values()))
    lists["planted/removed-flags"] = [*some, *REMOVED_FLAGS]
    lists["planted/bad-value"] = [*some, "--max-num-seqs", "many"]
    lists["options/kv-offloading"] = engine_args(replace(DEFAULT_CHAT, kv_offload_gib=8))
    return parse_with_vllm(vllm_env, lists)


def test_every_render_has_engines_to_check(all_renders: dict[str, Render]) -> None:
    lists = engine_arg_lists(all_renders)
    assert {key.split("/", 1)[0] for key in lists} == set(all_renders)
    assert len(lists) == 2 * len(all_renders), sorted(lists)  # chat and classifier everywhere


def test_vllm_accepts_every_rendered_engine_argument_list(verdicts: dict[str, dict[str, Any]]) -> None:
    problems = [
        f"{label}: vLLM does not know {', '.join(verdict['unknown'])}"
        if verdict["unknown"]
        else f"{label}: {verdict['error']}"
        for label, verdict in verdicts.items()
        if not label.startswith("planted/") and (verdict["unknown"] or verdict["error"])
    ]
    assert not problems, "\n".join(problems)


def test_an_unknown_flag_fails_with_its_name(verdicts: dict[str, dict[str, Any]]) -> None:
    """The check is not vacuous: the flags vLLM dropped are named, and a value of the wrong type is refused."""
    assert verdicts["planted/removed-flags"]["unknown"] == ["--swap-space", "--disable-log-requests"]
    assert "--max-num-seqs" in (verdicts["planted/bad-value"]["error"] or "")
