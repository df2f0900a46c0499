"""The replicas of one served model and the choice of replica per request (pure state, no I/O).

Discovery says which replicas exist (``set_discovered``); failures and health checks say which of those are
usable (``eject`` / ``readmit``); the proxy asks for a ``plan`` (the replicas to try, in order) and counts
requests in flight (``acquire`` / ``release``). Everything here is synchronous and runs on the event loop, so
no locking is needed.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from app.router.rendezvous import rank

AffinityResult = Literal["hit", "moved"]

#: Sessions whose last replica is remembered for the affinity metric (an LRU; ~100 bytes each).
AFFINITY_MEMORY = 100_000


@dataclass
class Backend:
    """One engine replica as the router sees it."""

    url: str
    in_flight: int = 0
    ejected: bool = False


class ModelPool:
    """The replicas serving one model, with their health and load.

    ``balance_factor`` bounds session affinity by load ("consistent hashing with bounded loads"): a session
    stays on its preferred replica unless that replica already carries more than ``balance_factor`` times its
    fair share of the requests in flight, in which case it goes to its next preference. ``0`` disables the
    bound (pure rendezvous hashing).
    """

    def __init__(self, model: str, *, balance_factor: float = 0.0, affinity_memory: int = AFFINITY_MEMORY) -> None:
        if balance_factor and balance_factor < 1:
            raise ValueError("balance_factor must be 0 (off) or at least 1 (a replica's fair share)")
        self.model = model
        self.balance_factor = balance_factor
        self.synced = False
        self._backends: dict[str, Backend] = {}
        self._last_backend: OrderedDict[str, str] = OrderedDict()
        self._affinity_memory = affinity_memory
        self._rotation = 0

    # --- membership -------------------------------------------------------------------------------------------
    def set_discovered(self, urls: Iterable[str]) -> None:
        """Replace the replica set with what discovery reports now; a replica no longer listed is gone at once.

        Replicas that stay keep their state (in-flight count, ejection), so a discovery update never makes a
        failing replica look healthy again.
        """
        wanted = list(dict.fromkeys(urls))
        self._backends = {url: self._backends.get(url) or Backend(url) for url in wanted}
        self.synced = True

    def eject(self, url: str) -> bool:
        """Stop sending requests to ``url`` until a health check readmits it; True if that changed anything."""
        backend = self._backends.get(url)
        if backend is None or backend.ejected:
            return False
        backend.ejected = True
        return True

    def readmit(self, url: str) -> bool:
        """Use ``url`` again (its health check passed); True if it was ejected."""
        backend = self._backends.get(url)
        if backend is None or not backend.ejected:
            return False
        backend.ejected = False
        return True

    def backends(self) -> list[Backend]:
        return list(self._backends.values())

    def ready(self) -> list[Backend]:
        return [backend for backend in self._backends.values() if not backend.ejected]

    def is_ejected(self, url: str) -> bool:
        backend = self._backends.get(url)
        return backend is not None and backend.ejected

    # --- choice -----------------------------------------------------------------------------------------------
    def plan(self, session_id: str | None) -> list[str]:
        """The ready replicas to try for one request, in order: the pick first, then the retry targets.

        With a session id: rendezvous order (bounded by load when ``balance_factor`` is set). Without: fewest
        requests in flight first, ties rotated so idle replicas share the work.
        """
        ready = self.ready()
        if not ready:
            return []
        if session_id:
            return self._plan_affine(session_id, ready)
        return self._plan_least_loaded(ready)

    def _plan_affine(self, session_id: str, ready: list[Backend]) -> list[str]:
        ordered = rank(session_id, (backend.url for backend in ready))
        if not self.balance_factor or len(ordered) == 1:
            return ordered
        total = sum(backend.in_flight for backend in ready)
        limit = math.ceil(self.balance_factor * (total + 1) / len(ready))
        for index, url in enumerate(ordered):
            if self._backends[url].in_flight < limit:
                return [url, *ordered[:index], *ordered[index + 1 :]]
        return ordered  # unreachable when balance_factor >= 1 (some replica is below its share); kept for safety

    def _plan_least_loaded(self, ready: list[Backend]) -> list[str]:
        self._rotation = (self._rotation + 1) % len(ready)
        rotated = ready[self._rotation :] + ready[: self._rotation]
        return [backend.url for backend in sorted(rotated, key=lambda backend: backend.in_flight)]

    # --- load and affinity bookkeeping ------------------------------------------------------------------------
    def acquire(self, url: str) -> None:
        backend = self._backends.get(url)
        if backend is not None:
            backend.in_flight += 1

    def release(self, url: str) -> None:
        """End of a request on ``url``; a replica removed meanwhile is simply forgotten."""
        backend = self._backends.get(url)
        if backend is not None and backend.in_flight > 0:
            backend.in_flight -= 1

    def remember(self, session_id: str, url: str) -> AffinityResult | None:
        """Record where a session's turn went: ``hit`` if its last turn went there too, ``moved`` if not,
        None for a session not seen before (a first turn says nothing about affinity)."""
        previous = self._last_backend.pop(session_id, None)
        self._last_backend[session_id] = url
        if len(self._last_backend) > self._affinity_memory:
            self._last_backend.popitem(last=False)
        if previous is None:
            return None
        return "hit" if previous == url else "moved"
