"""Images the charts run: by digest, or listed in tag-only-images.yaml with how to pin them (no silent tags)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.policy.pod_security_standards import pod_of
from tests.infra.chart_output import ChartObject, RenderCharts

TAG_ONLY_FILE = Path(__file__).with_name("tag-only-images.yaml")
BY_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
#: custom resources whose operator runs ``spec.image``
IMAGE_CARRYING_KINDS = frozenset({"Prometheus", "Alertmanager", "ThanosRuler"})
#: an operator's flag naming an image it will run (``--prometheus-config-reloader=quay.io/...:v0.93.1``)
IMAGE_FLAG = re.compile(
    r"^--[a-z-]*(?:image|reloader)[a-z-]*=(?P<image>[\w.-]+(?::\d+)?/[\w./-]+(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?)$"
)


def tag_only_images() -> dict[str, str]:
    entries = yaml.safe_load(TAG_ONLY_FILE.read_text())
    return {entry["image"]: entry["how"] for entry in entries}


def images_of(obj: ChartObject) -> Iterator[str]:
    """Every image an object runs: its pod's containers, an operator's image flags, a custom resource's spec.image."""
    pod = pod_of(obj.body)
    if pod is not None:
        spec = pod[1]
        for list_name in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(list_name) or ():
                yield str(container["image"])
                for arg in [*(container.get("args") or ()), *(container.get("command") or ())]:
                    if match := IMAGE_FLAG.match(str(arg)):
                        yield match.group("image")
    if obj.kind in IMAGE_CARRYING_KINDS and isinstance(obj.body.get("spec"), Mapping):
        image: Any = obj.body["spec"].get("image")
        if image:
            yield str(image)


@pytest.fixture(scope="module")
def accepted() -> dict[str, str]:
    return tag_only_images()


def test_every_chart_image_is_pinned_by_digest_or_listed_with_a_reason(
    chart_output: RenderCharts, accepted: dict[str, str]
) -> None:
    unpinned = sorted(
        {
            f"{image} ({obj})"
            for obj in chart_output.all_objects()
            for image in images_of(obj)
            if not BY_DIGEST.search(image) and image not in accepted
        }
    )
    assert unpinned == [], "chart images by tag only and not in tag-only-images.yaml:\n" + "\n".join(unpinned)


def test_every_tag_only_entry_is_still_used_and_says_how_to_pin_it(
    chart_outputs: dict[str, RenderCharts], accepted: dict[str, str]
) -> None:
    used = {image for output in chart_outputs.values() for obj in output.all_objects() for image in images_of(obj)}
    assert sorted(set(accepted) - used) == [], "entries no render uses (pinned or gone): delete them"
    assert all(how.strip() for how in accepted.values())


def test_an_operator_image_flag_is_recognised() -> None:
    arg = "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1"
    match = IMAGE_FLAG.match(arg)
    assert match is not None
    assert match.group("image") == "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1"
    assert IMAGE_FLAG.match("--config-reloader-cpu-request=0") is None
