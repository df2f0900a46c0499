"""One way to install a pinned chart: every platform add-on goes through ``helm_release``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import ChartRef

#: Long enough for CRD installs and image pulls on a fresh node; Helm rolls back (atomic) when it runs out.
RELEASE_TIMEOUT_SECONDS = 600


def release_args(
    release_name: str, chart: ChartRef, namespace: str, values: Mapping[str, Any]
) -> k8s.helm.v3.ReleaseArgs:
    """Release arguments for ``chart``: OCI charts are addressed by URL, classic repositories through ``repo``."""
    common: dict[str, Any] = {
        "name": release_name,
        "version": chart.version,
        "namespace": namespace,
        "values": dict(values),
        "create_namespace": False,  # namespaces are ours (labels, quotas, policies), never a chart's
        "atomic": True,
        "cleanup_on_fail": True,
        "timeout": RELEASE_TIMEOUT_SECONDS,
    }
    if chart.is_oci:
        return k8s.helm.v3.ReleaseArgs(chart=f"{chart.repo}/{chart.name}", **common)
    return k8s.helm.v3.ReleaseArgs(
        chart=chart.name, repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo), **common
    )


def helm_release(
    release_name: str,
    chart: ChartRef,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """Install ``chart`` as release ``release_name`` (the render writes its values to ``helm/<release_name>.yaml``)."""
    return k8s.helm.v3.Release(release_name, release_args(release_name, chart, namespace, values), opts=opts)
