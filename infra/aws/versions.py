"""Everything the AWS cluster pins, in one place: Helm charts, controller images and the EKS managed add-ons.

Bumping a version is a one-line change here, reviewed in the render's ``helm/*.yaml`` diff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.platform.charts import ChartRef

#: Cluster Autoscaler chart 9.59.0 (https://github.com/kubernetes/autoscaler, tag cluster-autoscaler-chart-9.59.0).
CLUSTER_AUTOSCALER_CHART = ChartRef("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
#: The autoscaler's minor must match the cluster's Kubernetes minor (it vendors that scheduler); latest patches.
#: registry.k8s.io tags are immutable (images are promoted, never overwritten), so a patch tag pins the image.
CLUSTER_AUTOSCALER_IMAGE_TAGS: Mapping[str, str] = {"1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2"}

#: AWS Load Balancer Controller chart 3.5.0 = controller v3.5.0 (https://github.com/aws/eks-charts).
#: Its IAM policy in policies/aws-load-balancer-controller.json is the one published with v3.5.0: bump both.
LOAD_BALANCER_CONTROLLER_CHART = ChartRef("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
LOAD_BALANCER_CONTROLLER_IMAGE_TAG = "v3.5.0"

#: EKS managed add-ons the cluster installs. Their versions default to what EKS ships for the cluster's
#: Kubernetes minor (AWS-tested together); ``awsAddonVersions`` pins any of them explicitly.
MANAGED_ADDONS: Sequence[str] = (
    "vpc-cni",
    "kube-proxy",
    "coredns",
    "aws-ebs-csi-driver",
    "aws-efs-csi-driver",
)


def cluster_autoscaler_image_tag(kubernetes_version: str) -> str:
    try:
        return CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetes_version]
    except KeyError:
        known = ", ".join(CLUSTER_AUTOSCALER_IMAGE_TAGS)
        raise ValueError(
            f"no Cluster Autoscaler release pinned for Kubernetes {kubernetes_version} (pinned: {known})"
        ) from None


def parse_addon_versions(entries: Sequence[str]) -> dict[str, str]:
    """``["coredns=v1.12.1-eksbuild.2"]`` -> ``{"coredns": "v1.12.1-eksbuild.2"}``; raises ``ValueError`` with
    the reason when an entry is malformed, names an add-on we do not install, or repeats one."""
    pinned: dict[str, str] = {}
    for entry in entries:
        name, separator, version = (part.strip() for part in entry.partition("="))
        if not separator or not name or not version:
            raise ValueError(f"{entry!r} is not of the form <add-on>=<version>, e.g. coredns=v1.12.1-eksbuild.2")
        if name not in MANAGED_ADDONS:
            raise ValueError(f"{name!r} is not an add-on this cluster installs ({', '.join(MANAGED_ADDONS)})")
        if name in pinned:
            raise ValueError(f"{name!r} is pinned twice")
        pinned[name] = version
    return pinned
