"""Time-ordered identifiers (UUIDv7, RFC 9562).

Rows keyed by UUIDv7 insert at the right edge of a B-tree index (good locality, unlike UUIDv4) and sort by
creation time, so cursor pagination can use the id alone. Python 3.11 has no ``uuid.uuid7``, hence this module.
"""

from __future__ import annotations

import secrets
import threading
import time
from uuid import UUID

_COUNTER_BITS = 42  # 12 bits of rand_a + the top 30 bits of rand_b (RFC 9562 section 6.2, method 1)
_COUNTER_SEED_MAX = 1 << (_COUNTER_BITS - 1)  # seed below half the range: room for increments in one ms


class _MonotonicUuid7:
    """UUIDv7s strictly increasing within the process, even when made in the same millisecond.

    Sessions stores a customer message and the assistant placeholder in the same millisecond; the counter keeps
    them in creation order, which pagination by id relies on. If the clock steps back, the last timestamp is
    reused, so ids never go backwards.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def __call__(self, now_ms: int | None = None) -> UUID:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        with self._lock:
            if ms > self._last_ms:
                self._last_ms, self._counter = ms, secrets.randbelow(_COUNTER_SEED_MAX)
            else:
                self._counter += 1
                if self._counter >= 1 << _COUNTER_BITS:  # counter exhausted within one ms: borrow the next ms
                    self._last_ms, self._counter = self._last_ms + 1, secrets.randbelow(_COUNTER_SEED_MAX)
            ms, counter = self._last_ms, self._counter
        rand_a = counter >> 30
        rand_b = ((counter & ((1 << 30) - 1)) << 32) | secrets.randbits(32)
        return UUID(int=(ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)


#: ``uuid7()`` -> a new time-ordered UUID (``uuid7(now_ms=...)`` pins the timestamp, for tests).
uuid7 = _MonotonicUuid7()


def uuid7_timestamp_ms(value: UUID) -> int:
    """The Unix time in milliseconds embedded in a UUIDv7 (for logs and retention checks)."""
    return value.int >> 80


def new_request_id() -> str:
    """A request id: a UUIDv7 in hex (32 characters, sortable by time, safe in headers and log fields)."""
    return uuid7().hex
