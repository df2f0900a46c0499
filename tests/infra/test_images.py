"""The service image (images/app.Dockerfile) without a Docker engine: lint, checkov, its context, its dependency set.

The image cannot be built here, so everything around the build is checked: hadolint finds nothing (and checkov, in the
session's one checkov process: test_checkov.py), every path it copies exists and passes its .dockerignore (an allowlist that keeps secrets, .git, .venv and build/ out), the
bases are pinned by digest, the runtime is non-root with UID 10001, and the exact ``uv sync`` the Dockerfile runs,
replayed into a scratch environment, gives every module under app/ the third-party packages it imports.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from infra.k8s.security import DEFAULT_UID
from stacks.config.serving import DEFAULT_VLLM_IMAGE
from tests.infra.rendering import ROOT

IMAGES = ROOT / "images"
DOCKERFILE = IMAGES / "app.Dockerfile"
DOCKERIGNORE = IMAGES / "app.Dockerfile.dockerignore"
HADOLINT = ROOT / ".venv" / "bin" / "hadolint"
UV = ROOT / ".tools" / "bin" / "uv"
DIGEST_PINNED = re.compile(r"^[\w.\-/:]+@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@cache
def instructions() -> tuple[Instruction, ...]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return tuple(Instruction(*([*text.split(maxsplit=1), ""])[:2]) for text in logical)


def of_kind(keyword: str) -> list[str]:
    return [i.arguments for i in instructions() if i.keyword.upper() == keyword]


def final_stage() -> list[Instruction]:
    starts = [index for index, i in enumerate(instructions()) if i.keyword.upper() == "FROM"]
    return list(instructions()[starts[-1] :])


def excluded_by_dockerignore(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides (``!`` re-includes)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _pattern_regex(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match plus ``**`` (any number of folders), as Docker's pattern matcher reads it."""
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            out += ".*"
            index += 2
        elif pattern[index] == "*":
            out += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            out += "[^/]"
            index += 1
        elif pattern[index] == "[":
            end = pattern.index("]", index)
            out += pattern[index : end + 1]
            index = end + 1
        else:
            out += re.escape(pattern[index])
            index += 1
    return re.compile(out)


def ignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_sources() -> list[str]:
    """Every COPY source taken from the build context (not from another stage)."""
    sources: list[str] = []
    for arguments in of_kind("COPY"):
        words = shlex.split(arguments)
        if any(word.startswith("--from=") for word in words):
            continue
        sources += [word for word in words if not word.startswith("--")][:-1]
    return sources


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--config", str(IMAGES / ".hadolint.yaml"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_config_is_strict_and_would_catch_an_untrusted_base(tmp_path: Path) -> None:
    """The config fails on any finding: a base from another registry is reported, so the clean run means something."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text().replace("FROM python:", "FROM quay.io/python:", 1))
    result = subprocess.run(
        [str(HADOLINT), "--config", str(IMAGES / ".hadolint.yaml"), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3026" in result.stdout


def test_every_base_is_pinned_by_digest_and_both_stages_share_it() -> None:
    bases = [shlex.split(arguments)[0] for arguments in of_kind("FROM")]
    assert len(bases) == 2, bases
    assert all(DIGEST_PINNED.match(base) for base in bases), bases
    assert len(set(bases)) == 1, "the builder's venv must point at the runtime's interpreter: one base for both"
    labels = " ".join(of_kind("LABEL"))
    assert bases[0].split("@")[1] in labels, "org.opencontainers.image.base.digest must name the base"


def test_the_engine_runs_the_upstream_vllm_image_by_digest() -> None:
    """No engine Dockerfile: the serving config pins vllm/vllm-openai by digest (docs/delivery.md says why)."""
    assert DIGEST_PINNED.match(DEFAULT_VLLM_IMAGE), DEFAULT_VLLM_IMAGE
    assert DEFAULT_VLLM_IMAGE.startswith("vllm/vllm-openai:")


def test_runtime_stage_runs_as_the_pods_numeric_uid_without_build_tools() -> None:
    stage = final_stage()
    users = [i.arguments for i in stage if i.keyword.upper() == "USER"]
    assert users == [f"{DEFAULT_UID}:{DEFAULT_UID}"]
    runs = " ".join(i.arguments for i in stage if i.keyword.upper() == "RUN")
    assert "apt-get install" not in runs
    assert "pip install" not in runs
    assert "uninstall --yes --quiet pip setuptools wheel" in runs
    copies = [i.arguments for i in stage if i.keyword.upper() == "COPY"]
    assert all(arguments.startswith("--from=builder ") for arguments in copies), "the runtime copies only built output"


def test_runtime_environment_is_read_only_root_friendly() -> None:
    env = " ".join(i.arguments for i in final_stage() if i.keyword.upper() == "ENV")
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        "HOME=/tmp",
        "TMPDIR=/tmp",
        "HELPLINE_HOST=0.0.0.0",
    ):
        assert setting in env
    builder_runs = " ".join(of_kind("RUN"))
    assert "--compile-bytecode" in builder_runs
    assert "compileall" in builder_runs


def test_healthcheck_and_oci_labels() -> None:
    (healthcheck,) = of_kind("HEALTHCHECK")
    assert "CMD" in healthcheck
    assert "/opt/helpline/bin/healthcheck.py" in healthcheck
    labels = " ".join(of_kind("LABEL"))
    for key in ("title", "description", "source", "version", "revision", "created", "licenses", "base.name"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_no_secret_reaches_a_layer_through_args_or_env() -> None:
    secretish = re.compile(r"(?i)(secret|password|token|api_?key|credential)")
    for keyword in ("ARG", "ENV"):
        for arguments in of_kind(keyword):
            names = re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", arguments) or [arguments.split("=")[0]]
            assert not [name for name in names if secretish.search(name)], f"{keyword} {arguments}"


def test_every_copied_path_exists_and_passes_the_dockerignore() -> None:
    patterns = ignore_patterns()
    sources = context_sources()
    assert {"pyproject.toml", "uv.lock", "app/"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        assert not excluded_by_dockerignore(source.rstrip("/"), patterns), f"COPY {source} is excluded from the context"


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".venv-tools/checkov/bin/checkov",
        ".tools/bin/uv",
        "build/render/dev-aws/inventory.json",
        "build/test-render/prod-gcp.secrets.json",
        "Pulumi.prod.yaml",
        ".env",
        "app/.env",
        "app/auth/.env.local",
        "app/core/tls/server.key",
        "app/core/tls/server.pem",
        "var/auth.db",
        "app/auth/__pycache__/app.cpython-311.pyc",
        "tests/app/conftest.py",
        "infra/policy/config/prod.json",
        "secrets/anything",
        "id_ed25519",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert excluded_by_dockerignore(path, ignore_patterns())


@pytest.mark.parametrize("path", ["pyproject.toml", "uv.lock", "app/auth/app.py", "app/contracts/api.py"])
def test_dockerignore_lets_in(path: str) -> None:
    assert not excluded_by_dockerignore(path, ignore_patterns())


def test_uv_in_the_image_is_the_makefiles_uv() -> None:
    pinned = re.search(r"^uv==([\d.]+)", (IMAGES / "uv-requirements.txt").read_text(), re.MULTILINE)
    makefile = re.search(r"^UV_VERSION := ([\d.]+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pinned
    assert makefile
    assert pinned.group(1) == makefile.group(1)
    assert (IMAGES / "uv-requirements.txt").read_text().count("--hash=sha256:") >= 2


def sync_arguments() -> list[str]:
    """The arguments of the Dockerfile's ``uv sync``, read from the Dockerfile so the test cannot drift from it."""
    (run,) = [arguments for arguments in of_kind("RUN") if "uv sync" in arguments]
    return shlex.split(run.split("uv sync", 1)[1])


#: Scripts the stack mounts into the app image and runs with its interpreter (ConfigMaps, not baked in).
SCRIPTS_RUN_IN_THE_IMAGE = ("infra/data/provision_roles.py",)

#: Imports every module under app/ except entry scripts and Alembic environments (those run on import), and every
#: module the mounted scripts import anywhere (lazy imports included), then prints the missing third-party modules as
#: JSON. Other import errors belong to the app's own tests.
IMPORT_EVERYTHING = """
import ast, importlib, json, pkgutil, sys
import app
missing, imported = set(), 0
def attempt(name, why):
    global imported
    try:
        importlib.import_module(name)
        imported += 1
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "app":
            missing.add(f"{why}: {error.name}")
    except Exception:
        pass
for info in pkgutil.walk_packages(app.__path__, "app."):
    if not (info.name.endswith(".__main__") or ".migrations." in info.name + "."):
        attempt(info.name, info.name)
for script in sys.argv[1:]:
    tree = ast.parse(open(script).read())
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module != "__future__":
            names = [node.module]
        for name in names:
            attempt(name, script)
leaked = sorted({name.split(".")[0] for name in sys.modules} & {"pulumi", "pytest", "infra", "stacks", "tests"})
print(json.dumps({"missing": sorted(missing), "imported": imported, "leaked": leaked}))
"""


def test_the_image_dependency_set_imports_every_service_module(tmp_path: Path) -> None:
    arguments = sync_arguments()
    assert " ".join(arguments).startswith("--frozen --no-dev --no-group infra --no-install-project"), arguments
    environment = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"UV_PROJECT_ENVIRONMENT": str(environment)}
    # Bytecode compilation changes nothing about what imports; skipping it keeps the test at a few seconds.
    replay = [word for word in arguments if word != "--compile-bytecode"]
    sync = subprocess.run(
        [str(UV), "sync", *replay, "--python", sys.executable, "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sync.returncode == 0, sync.stderr
    installed = {p.name.lower() for p in (environment / "lib" / "python3.11" / "site-packages").glob("*.dist-info")}
    assert not [name for name in installed if name.startswith(("pulumi", "pytest", "ruff", "pyright", "hadolint"))]
    # The image's layout: only app/ beside the interpreter, nothing else of the repository importable.
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "app").symlink_to(ROOT / "app")
    result = subprocess.run(
        [
            str(environment / "bin" / "python"),
            "-s",
            "-c",
            IMPORT_EVERYTHING,
            *(str(ROOT / script) for script in SCRIPTS_RUN_IN_THE_IMAGE),
        ],
        cwd=tmp_path / "root",
        env={"PYTHONPATH": str(tmp_path / "root"), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not report["missing"], "the image lacks packages these modules import:\n" + "\n".join(report["missing"])
    assert not report["leaked"], f"app code imports infra or dev tooling: {report['leaked']}"
    assert report["imported"] >= 30, report
