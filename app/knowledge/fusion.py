"""Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): ``score(d) = sum 1 / (k + rank_m(d))``.

Why RRF rather than a weighted sum of scores: BM25/ts_rank and cosine live on unrelated scales that move with the
query and the corpus, so any weights tuned on one set silently break on the next; ranks need no calibration.
k = 60 (the paper's value) damps the influence of the very top ranks, so a passage both methods rank well beats
one only a single method ranks first. Measured on our labelled set in ``make eval-retrieval``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[T]], *, k: int = 60) -> list[tuple[T, float]]:
    """Items of all ``rankings`` (best first) by fused score, best first; ties keep first-seen order."""
    scores: dict[T, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
