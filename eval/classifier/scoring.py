"""From the classifier's predictions on labelled items to the figures ``make eval`` reports and the gate compares.

Both labels of the classifier's answer are scored as separate tasks (``intent``, ``emotion``): per-class precision,
recall and F1, macro and weighted F1, accuracy and the confusion matrix; accuracy by language and by hard-case tag
shows where a model is weak. A missing or unusable answer counts as the label ``(none)``: wrong, never skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.classifier.dataset import LabelledMessage
from eval.metrics import class_scores, confusion_matrix, macro_f1, percentile, weighted_f1

NO_ANSWER = "(none)"
TASKS = ("intent", "emotion")


@dataclass(frozen=True)
class Prediction:
    intent: str | None
    emotion: str | None
    latency_ms: float


def _task_figures(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    scores = class_scores(expected, predicted)
    labels, matrix = confusion_matrix(expected, predicted)
    correct = sum(1 for e, p in zip(expected, predicted, strict=True) if e == p)
    return {
        "accuracy": correct / len(expected) if expected else 0.0,
        "macro_f1": macro_f1(scores),
        "weighted_f1": weighted_f1(scores),
        "per_class": {str(label): s.as_dict() for label, s in scores.items()},
        "confusion": {"labels": [str(label) for label in labels], "matrix": matrix},
    }


def _accuracy_by(items: Sequence[LabelledMessage], predictions: Sequence[Prediction], key: str) -> dict[str, Any]:
    """Intent and emotion accuracy per language (``key="lang"``) or per hard-case tag (``key="tags"``)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for group in item.tags if key == "tags" else (item.lang,):
            groups[group].append(index)
    result: dict[str, Any] = {}
    for group, indexes in sorted(groups.items()):
        result[group] = {
            "items": len(indexes),
            **{
                f"{task}_accuracy": sum(1 for i in indexes if getattr(predictions[i], task) == getattr(items[i], task))
                / len(indexes)
                for task in TASKS
            },
        }
    return result


def score(items: Sequence[LabelledMessage], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Every figure of one evaluation run (the engine and set metadata are added by the caller)."""
    if len(items) != len(predictions):
        raise ValueError(f"{len(items)} items but {len(predictions)} predictions")
    tasks = {
        task: _task_figures(
            [getattr(item, task) for item in items], [getattr(p, task) or NO_ANSWER for p in predictions]
        )
        for task in TASKS
    }
    latencies = [p.latency_ms for p in predictions]
    return {
        "items": len(items),
        "unanswered": sum(1 for p in predictions if p.intent is None and p.emotion is None),
        "tasks": tasks,
        "by_language": _accuracy_by(items, predictions, "lang"),
        "by_tag": _accuracy_by(items, predictions, "tags"),
        "latency_ms": {f"p{q}": percentile(latencies, q) for q in (50, 90, 95, 99)}
        | {"max": max(latencies, default=0.0)},
        "errors": [
            {
                "id": item.id,
                "expected": {t: getattr(item, t) for t in TASKS},
                "predicted": {t: getattr(p, t) for t in TASKS},
            }
            for item, p in zip(items, predictions, strict=True)
            if item.intent != p.intent or item.emotion != p.emotion
        ],
    }
