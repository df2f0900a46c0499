"""What the real Helm charts make of the values a render hands them: ``helm template`` on every release of a render.

Each release the render wrote (``helm/<release>.yaml``: chart, version, namespace, values) is templated with the
pinned helm (``.tools/bin/helm``, installed by ``make setup``) on the chart archive at exactly that version, with the
release's name and namespace, the stack's Kubernetes version and the API groups the stack installs CRDs for (charts
gate their ServiceMonitors and the like on them). Test hooks are kept (``helm test`` pods are chart output too); CRDs
are left out (they are the API's, not workloads, and are validated where the schemas come from).

Archives come from ``../shared/charts`` (``HELPLINE_SHARED_DIR``) when present, else ``helm pull`` fetches them from
the chart's own repository into ``build/shared-cache/charts``; offline, the tests that need them skip with a message.
Identical inputs (same chart, namespace, version and values, as between a stack and its variants) are templated once
per session; the rest run a few at a time (helm is one short process per release).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

import yaml

from tests.support.shared_data import CACHE, ROOT, shared_dir

HELM = ROOT / ".tools" / "bin" / "helm"
#: API groups whose CRDs the stacks install (kube-prometheus-stack, Gateway API, cert-manager, KEDA, CloudNativePG):
#: charts look them up in ``.Capabilities.APIVersions``, as they would on the real cluster.
API_VERSIONS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1alpha1",
    "gateway.networking.k8s.io/v1",
    "cert-manager.io/v1",
    "keda.sh/v1alpha1",
    "postgresql.cnpg.io/v1",
)
#: helm processes at a time: two cores, shared; each one is short and mostly CPU.
PARALLEL = 3
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ChartUnavailableError(Exception):
    """The chart archive is neither in the shared folder nor fetchable (offline): the check cannot run here."""


@dataclass(frozen=True)
class Release:
    """One Helm release as the render wrote it."""

    name: str
    chart: str
    version: str
    namespace: str
    values: Mapping[str, Any]
    repo: str | None

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> Release:
        chart = str(inputs["chart"])
        return cls(
            name=str(inputs["name"]),
            chart=chart.rsplit("/", 1)[-1],
            version=str(inputs["version"]),
            namespace=str(inputs["namespace"]),
            values=inputs.get("values") or {},
            repo=chart.rsplit("/", 1)[0]
            if chart.startswith("oci://")
            else (inputs.get("repositoryOpts") or {}).get("repo"),
        )

    @property
    def archive_name(self) -> str:
        return f"{self.chart}-{self.version}.tgz"


@dataclass(frozen=True)
class ChartObject:
    """One object a chart renders, with the template it came from (for messages)."""

    release: str
    #: the release's namespace: where ``helm install`` puts the objects whose template names none
    release_namespace: str
    source: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind"))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name"))

    @property
    def namespace(self) -> str:
        return self.body.get("metadata", {}).get("namespace") or self.release_namespace

    def __str__(self) -> str:
        return f"{self.release}: {self.kind}/{self.name} ({self.source})"


def archives() -> list[Path]:
    """Every chart archive at hand: the shared folder's, else those pulled into the cache so far."""
    folder = shared_dir() / "charts"
    return sorted((folder if folder.exists() else CACHE / "charts").glob("*.tgz"))


def chart_archive(release: Release) -> Path:
    """The packaged chart at the release's version: the shared copy, else pulled once from its repository."""
    shared = shared_dir() / "charts" / release.archive_name
    if shared.exists():
        return shared
    if (shared_dir() / "charts").exists():
        raise AssertionError(f"{release.archive_name} is not in {shared_dir() / 'charts'}: pin the version it holds")
    cache = CACHE / "charts"
    cached = cache / release.archive_name
    if cached.exists():
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    if release.repo is None:
        raise ChartUnavailableError(f"{release.name}: no repository to pull {release.chart} from")
    command = [str(HELM), "pull", "--version", release.version, "--destination", str(cache)]
    if release.repo.startswith("oci://"):
        command.append(f"{release.repo}/{release.chart}")
    else:
        command += ["--repo", release.repo, release.chart]
    pulled = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if pulled.returncode != 0 or not cached.exists():
        raise ChartUnavailableError(f"{release.archive_name}: helm pull failed ({pulled.stderr.strip()[:300]})")
    return cached


def parse_output(release: str, namespace: str, text: str) -> list[ChartObject]:
    """The objects in ``helm template`` output, each with its ``# Source:`` template."""
    objects: list[ChartObject] = []
    for document in text.split("\n---"):
        source = next(
            (line.removeprefix("# Source: ") for line in document.splitlines() if line.startswith("# Source: ")), "?"
        )
        body = yaml.load(document, Loader=_YAML_LOADER)
        if isinstance(body, dict) and body.get("kind"):
            objects.append(ChartObject(release, namespace, source, body))
    return objects


def template(release: Release, kubernetes_version: str) -> list[ChartObject]:
    """``helm template`` of one release on its pinned chart; an error names the release, chart and helm's message."""
    if not HELM.exists():
        raise AssertionError(f"{HELM} is missing: run `make setup` (it installs the pinned helm)")
    archive = chart_archive(release)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix=f"{release.name}-") as values:
        json.dump(release.values, values)
        values.flush()
        command = [
            str(HELM),
            "template",
            release.name,
            str(archive),
            "--namespace",
            release.namespace,
            "--kube-version",
            kubernetes_version,
            "--values",
            values.name,
            *(f"--api-versions={group}" for group in API_VERSIONS),
        ]
        env = {**os.environ, "HELM_CACHE_HOME": str(CACHE / "helm"), "HELM_CONFIG_HOME": str(CACHE / "helm")}
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)
    if done.returncode != 0:
        raise AssertionError(
            f"helm template {release.name} ({release.archive_name}, namespace {release.namespace}) failed:\n"
            f"{done.stderr.strip()}"
        )
    return parse_output(release.name, release.namespace, done.stdout)


def _key(release: Release, kubernetes_version: str) -> str:
    text = json.dumps([release.name, release.archive_name, release.namespace, kubernetes_version, release.values])
    return hashlib.sha256(text.encode()).hexdigest()


class ChartTemplater:
    """Templates releases a few at a time, each distinct input once per session."""

    def __init__(self, parallel: int = PARALLEL) -> None:
        self._executor = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="helm")
        self._futures: dict[str, Future[list[ChartObject]]] = {}
        self._lock = Lock()

    def submit(self, release: Release, kubernetes_version: str) -> Future[list[ChartObject]]:
        key = _key(release, kubernetes_version)
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._executor.submit(template, release, kubernetes_version)
            return self._futures[key]

    def submit_all(self, releases: Iterable[Release], kubernetes_version: str) -> dict[str, Future[list[ChartObject]]]:
        return {release.name: self.submit(release, kubernetes_version) for release in releases}

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class RenderCharts:
    """A render's chart output: each release's objects, or why it could not be templated."""

    objects: dict[str, list[ChartObject]]
    errors: dict[str, str]
    unavailable: dict[str, str]

    def all_objects(self) -> list[ChartObject]:
        return [obj for objects in self.objects.values() for obj in objects]


def releases_of(helm_releases: Mapping[str, Mapping[str, Any]]) -> list[Release]:
    """The releases of a render, from its ``helm/<release>.yaml`` files (as ``Render.helm_releases`` reads them)."""
    return [Release.from_inputs(inputs) for inputs in helm_releases.values()]


def collect(futures: Mapping[str, Future[list[ChartObject]]]) -> RenderCharts:
    result = RenderCharts({}, {}, {})
    for name, future in futures.items():
        try:
            result.objects[name] = future.result()
        except ChartUnavailableError as exc:
            result.unavailable[name] = str(exc)
        except AssertionError as exc:
            result.errors[name] = str(exc)
    return result
