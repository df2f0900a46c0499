"""The arithmetic every evaluation shares: per-class precision/recall/F1, confusion matrices, ranking metrics and
latency percentiles. Plain functions on plain data, tested without any engine."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ClassScores:
    """One class's figures; ``support`` is how many expected items carry the class."""

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(numerator: int, denominator: int) -> float:
    """0 when nothing was counted: a class never predicted has precision 0, as scikit-learn's zero_division=0."""
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def class_scores(expected: Sequence[Hashable], predicted: Sequence[Hashable]) -> dict[Hashable, ClassScores]:
    """Precision, recall and F1 per class for single-label predictions (``expected[i]`` against ``predicted[i]``)."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected labels but {len(predicted)} predictions")
    labels = sorted(set(expected) | set(predicted), key=str)
    support = Counter(expected)
    predicted_count = Counter(predicted)
    hits = Counter(e for e, p in zip(expected, predicted, strict=True) if e == p)
    scores: dict[Hashable, ClassScores] = {}
    for label in labels:
        precision = _ratio(hits[label], predicted_count[label])
        recall = _ratio(hits[label], support[label])
        scores[label] = ClassScores(precision, recall, _f1(precision, recall), support[label], predicted_count[label])
    return scores


def detection_scores(true_positives: int, false_positives: int, false_negatives: int) -> ClassScores:
    """Precision/recall/F1 from counts (span detection, binary guardrail decisions)."""
    precision = _ratio(true_positives, true_positives + false_positives)
    recall = _ratio(true_positives, true_positives + false_negatives)
    return ClassScores(
        precision, recall, _f1(precision, recall), true_positives + false_negatives, true_positives + false_positives
    )


def macro_f1(scores: dict[Hashable, ClassScores]) -> float:
    """Mean F1 over the classes that occur in the expected labels (a class only ever predicted counts as 0 in
    precision but is not averaged in: it has no support)."""
    supported = [s.f1 for s in scores.values() if s.support]
    return sum(supported) / len(supported) if supported else 0.0


def weighted_f1(scores: dict[Hashable, ClassScores]) -> float:
    total = sum(s.support for s in scores.values())
    return sum(s.f1 * s.support for s in scores.values()) / total if total else 0.0


def confusion_matrix(
    expected: Sequence[Hashable], predicted: Sequence[Hashable]
) -> tuple[list[Hashable], list[list[int]]]:
    """Labels (sorted) and ``matrix[i][j]``: how many items of expected label i were predicted as label j."""
    labels = sorted(set(expected) | set(predicted), key=str)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for e, p in zip(expected, predicted, strict=True):
        matrix[index[e]][index[p]] += 1
    return labels, matrix


def recall_at_k(ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    """Share of the relevant items found in the first ``k`` results."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("recall needs at least one relevant item")
    return len(wanted & set(ranked[:k])) / len(wanted)


def reciprocal_rank(ranked: Sequence[Hashable], relevant: Iterable[Hashable]) -> float:
    """1 / the rank of the first relevant result, 0 when none is returned (averaged over questions: MRR)."""
    wanted = set(relevant)
    for position, item in enumerate(ranked, start=1):
        if item in wanted:
            return 1 / position
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else math.nan
