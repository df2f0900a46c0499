"""Rendezvous (highest-random-weight) hashing: which replica a session's turns go to.

Each (session, replica) pair gets a pseudo-random weight; the session goes to the replica with the highest
weight. When a replica leaves, only the sessions that were on it move (each to its own second choice, so they
spread evenly instead of piling onto one neighbour); when a replica joins, it takes only the sessions for
which it now wins. The weight is an unkeyed BLAKE2b digest, not Python's ``hash()``: ``hash()`` is salted per
process, and every router replica must send the same session to the same engine replica.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b


def weight(session_id: str, backend: str) -> int:
    """The pseudo-random weight of ``backend`` for ``session_id`` (stable across processes and hosts)."""
    digest = blake2b(f"{session_id}\x00{backend}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rank(session_id: str, backends: Iterable[str]) -> list[str]:
    """``backends`` in the order ``session_id`` prefers them: first choice first.

    The order is what a retry follows too: the replica a request falls back to is the one the session would
    move to if its first choice disappeared, so a retried conversation keeps its new home on the next turn.
    """
    return sorted(backends, key=lambda backend: (weight(session_id, backend), backend), reverse=True)
