"""The Helm charts and images the platform installs, pinned in one place so an upgrade is one reviewed diff.

Images are pinned by digest (``repository:tag@sha256:...``: the tag says what it is, the digest what runs). Each digest
was read from public release records for that tag; re-check before bumping with
``crane digest <repository>:<tag>`` (or ``docker buildx imagetools inspect``) and update tag and digest together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartRef:
    """A chart at a pinned version in an explicit repository (``oci://`` registries included)."""

    name: str
    version: str
    repo: str

    @property
    def is_oci(self) -> bool:
        return self.repo.startswith("oci://")


@dataclass(frozen=True)
class Image:
    """A container image pinned by digest; ``tag`` is kept for humans and for charts that template ``repo:tag``."""

    repository: str
    tag: str
    digest: str

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}@{self.digest}"

    @property
    def tag_and_digest(self) -> str:
        """For charts that build ``{{ repository }}:{{ tag }}``: the tag field then carries the digest too."""
        return f"{self.tag}@{self.digest}"


# --- edge ------------------------------------------------------------------------------------------------------------
#: Envoy Gateway, the Gateway API implementation at the edge (published only as an OCI chart).
#: The chart is pinned to the release the tests template (../shared/charts holds v1.9.0; v1.9.1's chart is not in reach
#: here to show it templates the same), while the controller image is the v1.9.1 patch release, set in our values.
ENVOY_GATEWAY_CHART = ChartRef("gateway-helm", "v1.9.0", "oci://docker.io/envoyproxy")
ENVOY_GATEWAY_IMAGE = Image(
    "docker.io/envoyproxy/gateway",
    "v1.9.1",
    "sha256:0049bcb384c591c6a6dd043fe5c9929ef6e74f230e12dd678d2d3701df9b301e",
)
#: The Envoy build Envoy Gateway v1.9.1 runs by default, pinned so the data plane cannot drift under us.
ENVOY_PROXY_IMAGE = Image(
    "docker.io/envoyproxy/envoy",
    "distroless-v1.39.1",
    "sha256:eb2c01c13125d1629637cb4e4cce7207009fb7cc2c8027f9742758549d15b6f4",
)
#: Carries Envoy Gateway's own policy objects (ClientTrafficPolicy, BackendTrafficPolicy) as Helm values: a chart that
#: renders the resources listed in its values and nothing else (no images, no hooks).
RAW_CHART = ChartRef("raw", "v0.3.2", "https://dysnix.github.io/charts")

# --- TLS -------------------------------------------------------------------------------------------------------------
#: The chart at v1.21.1, the archive the tests template (the release-1.21 chart folder is identical at v1.21.2); the
#: images are v1.21.2, by digest, through our values.
CERT_MANAGER_CHART = ChartRef("cert-manager", "v1.21.1", "https://charts.jetstack.io")
_CERT_MANAGER_TAG = "v1.21.2"
CERT_MANAGER_IMAGES = {
    "controller": Image(
        "quay.io/jetstack/cert-manager-controller",
        _CERT_MANAGER_TAG,
        "sha256:70f532fd9cfde0b09d55687200942399d89838bc2d5d5b45152eb799a15912b8",
    ),
    "webhook": Image(
        "quay.io/jetstack/cert-manager-webhook",
        _CERT_MANAGER_TAG,
        "sha256:a60e2dac46dbb8a7f3df95c54ce941012f54c2fe022f0ee55aaa1ab40ed957ae",
    ),
    "cainjector": Image(
        "quay.io/jetstack/cert-manager-cainjector",
        _CERT_MANAGER_TAG,
        "sha256:c85268c64f2e0e76684bf5fe8906caff34b82523561c6affe0fae3546bd87562",
    ),
    "acmesolver": Image(
        "quay.io/jetstack/cert-manager-acmesolver",
        _CERT_MANAGER_TAG,
        "sha256:699b40d622211ab7accad8a21b04c5fbaa1841ef7a12621e8de492dbe27b2503",
    ),
    "startupapicheck": Image(
        "quay.io/jetstack/cert-manager-startupapicheck",
        _CERT_MANAGER_TAG,
        "sha256:46e75b6866359ffb5d82624f41e3ed1c70b2994982702ced547ce5edb418a8f5",
    ),
}

# --- GPU -------------------------------------------------------------------------------------------------------------
NVIDIA_DEVICE_PLUGIN_CHART = ChartRef("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin")
NVIDIA_DEVICE_PLUGIN_IMAGE = Image(
    "nvcr.io/nvidia/k8s-device-plugin",
    "v0.20.0",
    "sha256:a61ba9fd8efb82f3a79f877f7580e02c1e8e7593f62473644bc9c79e315c3312",
)
DCGM_EXPORTER_CHART = ChartRef("dcgm-exporter", "4.8.1", "https://nvidia.github.io/dcgm-exporter/helm-charts")
#: DCGM 4.5.2 with exporter 4.8.1; the digest is the linux/amd64 manifest (every GPU pool we offer is x86-64).
DCGM_EXPORTER_IMAGE = Image(
    "nvcr.io/nvidia/k8s/dcgm-exporter",
    "4.5.2-4.8.1-ubuntu22.04",
    "sha256:a7ad6547d4546eaf4dd5d6b4c0b4db4101e63ef7dc3cdff7f42b767d2c60b706",
)
