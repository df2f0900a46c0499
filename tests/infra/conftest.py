"""Infra test fixtures: the session's renders (committed stacks and variants), the warm pool that makes them, and the
session's one checkov scan.

Both are expensive and both run in the background: the renders start at the first infra test of a session that will
read any (the pool's warm-up and the renders overlap with the tests that read none), and checkov starts as soon as
the last render is written. Each fixture waits only for what it returns, and the tests that read the checkov scan
run last, so that the rest of the suite runs while it scans.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.infra.chart_output import ChartTemplater, RenderCharts, collect, releases_of
from tests.infra.checkov_runner import Scan, scan_session
from tests.infra.render_pool import WarmPool
from tests.infra.rendering import COMMITTED, VARIANTS, Render, SessionRenders

#: checkov over six renders takes well under a minute; this long means it is stuck.
CHECKOV_TIMEOUT_SECONDS = 600


def _uses(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read a checkov scan run last (the sort is stable: the rest keep their order): the session's, which
    runs in the background, and the chart output's (test_chart_checkov.py), which needs every chart templated first."""
    items.sort(key=lambda item: _uses(item, "checkov_scan") or _uses(item, "chart_findings"))


@pytest.fixture(scope="session")
def render_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmPool]:
    """Processes forked from one interpreter that has imported the program: renders and other mocks-runtime jobs."""
    pool = WarmPool(tmp_path_factory.mktemp("render-pool"))
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def session_renders(render_pool: WarmPool, tmp_path_factory: pytest.TempPathFactory) -> SessionRenders:
    return SessionRenders(render_pool, tmp_path_factory.mktemp("renders"), [*COMMITTED, *VARIANTS])


@pytest.fixture(scope="session")
def checkov_in_background(session_renders: SessionRenders) -> Iterator[Future[Scan]]:
    """The session's checkov scan, started in a thread that waits for the last render to be written."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkov") as executor:
        yield executor.submit(lambda: scan_session(session_renders.wait_written()))


@pytest.fixture(scope="session", autouse=True)
def _start_background_work(request: pytest.FixtureRequest) -> None:
    """Start the renders (and checkov after them) now when any test of the session will read them."""
    items = request.session.items
    if any(_uses(item, "checkov_scan") for item in items):
        request.getfixturevalue("checkov_in_background")
    elif any(_uses(item, "session_renders") for item in items):
        request.getfixturevalue("session_renders")


@pytest.fixture(scope="session")
def renders(session_renders: SessionRenders) -> dict[str, Render]:
    """The committed stacks on both clouds, by id (``dev-aws`` ...)."""
    return session_renders.wait(COMMITTED)


@pytest.fixture(scope="session")
def variants(session_renders: SessionRenders) -> dict[str, Render]:
    """The committed stacks with config overrides (rendering.VARIANTS), by id (``prod-gcp-secrets`` ...)."""
    return session_renders.wait(VARIANTS)


@pytest.fixture(scope="session")
def all_renders(renders: dict[str, Render], variants: dict[str, Render]) -> dict[str, Render]:
    return {**renders, **variants}


@pytest.fixture(scope="session")
def checkov_scan(checkov_in_background: Future[Scan]) -> Scan:
    """checkov (every framework) over every render, variants included, the images and the workflows."""
    return checkov_in_background.result(timeout=CHECKOV_TIMEOUT_SECONDS)


@pytest.fixture(params=[spec.id for spec in COMMITTED])
def render(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    """Parametrises a test over every committed stack and cloud."""
    return renders[request.param]


@pytest.fixture(params=[spec.id for spec in (*COMMITTED, *VARIANTS)])
def any_render(request: pytest.FixtureRequest, all_renders: dict[str, Render]) -> Render:
    """Parametrises a test over every render, variants included: for what no config may break."""
    return all_renders[request.param]


@pytest.fixture(scope="session")
def chart_outputs(all_renders: dict[str, Render]) -> Iterator[dict[str, RenderCharts]]:
    """``helm template`` of every release of every render on its pinned chart (chart_output.py), by render id."""
    templater = ChartTemplater()
    try:
        futures = {
            render_id: templater.submit_all(
                releases_of(render.helm_releases), render.stack_config.cluster.kubernetes_version
            )
            for render_id, render in all_renders.items()
        }
        yield {render_id: collect(of_render) for render_id, of_render in futures.items()}
    finally:
        templater.close()


@pytest.fixture
def chart_output(any_render: Render, chart_outputs: dict[str, RenderCharts]) -> RenderCharts:
    """The chart output of ``any_render`` (parametrised over every render, variants included)."""
    output = chart_outputs[any_render.id]
    if output.unavailable:
        pytest.skip(f"{any_render.id}: charts not available here: {sorted(output.unavailable.values())}")
    return output
