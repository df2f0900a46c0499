"""The platform tests' fixture: every stack and cloud from the session's renders of the whole program.

The platform was first tested on a stand-in render of its own; now that stacks/program.py composes it, its tests read
the shared renders (tests/infra/conftest.py), and its schema and checkov checks pick its own objects out of them
(test_platform_render.py).
"""

from __future__ import annotations

import pytest

from tests.infra.rendering import COMMITTED, Render

PLATFORM_TYPE = "helpline:platform:Platform"

#: What each cluster component hands the edge for its load balancer (an NLB on AWS, a passthrough NLB on GKE).
LB_ANNOTATIONS = {
    "aws": {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    },
    "gcp": {"cloud.google.com/l4-rbs": "enabled"},
}


@pytest.fixture(params=[spec.id for spec in COMMITTED])
def platform(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    """Parametrises a platform test over every stack and cloud (import it into the test module)."""
    return renders[request.param]
