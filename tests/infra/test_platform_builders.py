"""Pure helpers of the platform: chart addressing, image references."""

from __future__ import annotations

import re

from infra.platform import charts
from infra.platform.charts import ChartRef, Image
from infra.platform.helm import release_args

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def test_oci_charts_are_addressed_by_url_and_classic_ones_through_their_repository() -> None:
    oci = release_args("eg", ChartRef("gateway-helm", "v1.9.1", "oci://docker.io/envoyproxy"), "ns", {})
    assert oci.chart == "oci://docker.io/envoyproxy/gateway-helm"
    assert oci.repository_opts is None
    classic = release_args("cm", ChartRef("cert-manager", "v1.21.2", "https://charts.jetstack.io"), "ns", {"a": 1})
    assert classic.chart == "cert-manager"
    assert classic.repository_opts is not None
    assert classic.version == "v1.21.2"
    assert classic.create_namespace is False
    assert classic.atomic is True


def test_every_pinned_image_has_a_full_digest() -> None:
    images = [value for value in vars(charts).values() if isinstance(value, Image)]
    images += list(charts.CERT_MANAGER_IMAGES.values())
    assert len(images) >= 9
    for image in images:
        assert DIGEST.match(image.digest), image
        assert image.reference == f"{image.repository}:{image.tag}@{image.digest}"
        assert image.tag_and_digest.endswith(image.digest)


def test_every_chart_is_pinned_to_an_exact_version() -> None:
    refs = [value for value in vars(charts).values() if isinstance(value, ChartRef)]
    assert len(refs) == 5
    for ref in refs:
        assert re.match(r"^v?\d+\.\d+\.\d+$", ref.version), ref
        assert ref.repo.startswith(("https://", "oci://")), ref
