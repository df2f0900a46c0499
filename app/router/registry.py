"""Every served model's replica pool, with the metrics and logs of each membership change.

Discovery, health checks and the proxy all change pools through here, so ``helpline_router_backends`` and the
"replica ejected/readmitted" log lines can never drift from the state the proxy routes on.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.router.balancer import ModelPool
from app.router.outcome import OUTCOMES

log = get_logger(__name__)

AFFINITY_RESULTS = ("hit", "moved")


class DiscoveryNotSyncedError(RuntimeError):
    """Readiness: some model's replica list has not been loaded yet."""


class BackendRegistry:
    def __init__(self, models: Iterable[str], *, balance_factor: float) -> None:
        self.pools: dict[str, ModelPool] = {model: ModelPool(model, balance_factor=balance_factor) for model in models}
        for model in self.pools:
            self._export(model)
            # Every series exists from the start, at 0: Prometheus' rate() needs two samples, so a counter born
            # at its first increment hides that increment. KEDA wakes a model scaled to zero on the rate of
            # no_backend: without this, the first refused request would not wake it, only the second.
            for outcome in OUTCOMES:
                METRICS.router_requests_total.labels(model=model, outcome=outcome)
            for result in AFFINITY_RESULTS:
                METRICS.router_affinity_total.labels(model=model, result=result)

    def pool(self, model: str) -> ModelPool | None:
        return self.pools.get(model)

    @property
    def only_model(self) -> str | None:
        """The model a request without a ``model`` field means, when there is exactly one (as vLLM does)."""
        return next(iter(self.pools)) if len(self.pools) == 1 else None

    def update(self, model: str, urls: Iterable[str]) -> None:
        """Discovery's current replica list for ``model``."""
        pool = self.pools[model]
        before = {backend.url for backend in pool.backends()}
        pool.set_discovered(urls)
        after = {backend.url for backend in pool.backends()}
        if before != after:
            log.info(
                "engine replicas changed",
                model=model,
                added=sorted(after - before),
                removed=sorted(before - after),
                replicas=len(after),
            )
        self._export(model)

    def eject(self, model: str, url: str, reason: str) -> None:
        if self.pools[model].eject(url):
            log.warning("engine replica ejected", model=model, backend=url, reason=reason)
            self._export(model)

    def readmit(self, model: str, url: str) -> None:
        if self.pools[model].readmit(url):
            log.info("engine replica readmitted", model=model, backend=url)
            self._export(model)

    async def check_synced(self) -> None:
        """Readiness check: every model's discovery has reported at least once (even an empty list)."""
        pending = [model for model, pool in self.pools.items() if not pool.synced]
        if pending:
            raise DiscoveryNotSyncedError(f"replica discovery not synced for {', '.join(pending)}")

    def _export(self, model: str) -> None:
        backends = self.pools[model].backends()
        ejected = sum(1 for backend in backends if backend.ejected)
        METRICS.router_backends.labels(model=model, state="ready").set(len(backends) - ejected)
        METRICS.router_backends.labels(model=model, state="ejected").set(ejected)
