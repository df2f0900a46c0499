"""Active health checks: every replica's ``/health`` on a timer, ejected replicas more often.

Passive ejection (a failed connection) catches a dead replica on the next request; the checks catch one that
fails while idle, and readmit a replica that recovers (within ``ejected_interval`` seconds). vLLM answers
``/health`` with 200, or 503 when its engine is dead; it needs no API key.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from app.core.logging import get_logger
from app.router.registry import BackendRegistry

log = get_logger(__name__)


class HealthChecker:
    def __init__(
        self,
        registry: BackendRegistry,
        client: httpx.AsyncClient,
        *,
        interval: float,
        ejected_interval: float,
        timeout: float,
    ) -> None:
        self._registry = registry
        self._client = client
        self._interval = interval
        self._ejected_interval = min(ejected_interval, interval)
        self._timeout = timeout

    async def run(self) -> None:
        """Probe until cancelled: everything every ``interval``, ejected replicas every ``ejected_interval``.

        The first full round is one interval after start: discovery only lists replicas that passed their
        readiness probe, and a dead one in a static list is ejected by the first request that reaches it.
        """
        last_full_round = time.monotonic()
        while True:
            now = time.monotonic()
            full_round = now - last_full_round >= self._interval
            if full_round:
                last_full_round = now
            await self.check_once(only_ejected=not full_round)
            await asyncio.sleep(self._ejected_interval)

    async def check_once(self, *, only_ejected: bool = False) -> None:
        targets = [
            (model, backend.url)
            for model, pool in self._registry.pools.items()
            for backend in pool.backends()
            if backend.ejected or not only_ejected
        ]
        await asyncio.gather(*(self._probe(model, url) for model, url in targets))

    async def _probe(self, model: str, url: str) -> None:
        try:
            response = await self._client.get(f"{url}/health", timeout=self._timeout)
        except httpx.HTTPError as exc:
            self._registry.eject(model, url, f"health check failed: {type(exc).__name__}")
            return
        if response.status_code == httpx.codes.OK:
            self._registry.readmit(model, url)
        else:
            self._registry.eject(model, url, f"health check answered {response.status_code}")
