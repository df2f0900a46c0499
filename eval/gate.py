"""The evaluation gate: may a new model revision replace the baseline, judging by their recorded evaluations?

Refused when, on any task (the classifier's ``intent`` and ``emotion``), macro-F1 drops by more than
``max_macro_f1_drop`` or one class's recall drops by more than ``max_recall_drop`` (absolute points, 0-1), or when
the two were evaluated on different golden sets (their figures are not comparable). Every reason is returned at
once, each with the numbers and the class it is about, so a refused change says exactly what got worse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_MACRO_F1_DROP = 0.02
DEFAULT_MAX_RECALL_DROP = 0.05


@dataclass(frozen=True)
class GateMargins:
    max_macro_f1_drop: float = DEFAULT_MAX_MACRO_F1_DROP
    max_recall_drop: float = DEFAULT_MAX_RECALL_DROP


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    reasons: tuple[str, ...]
    #: classes whose recall dropped beyond the margin, as "task/class"
    regressed_classes: tuple[str, ...] = ()

    def explain(self) -> str:
        return "passed" if self.passed else "; ".join(self.reasons)


def compare(baseline: Mapping[str, Any], candidate: Mapping[str, Any], margins: GateMargins) -> GateVerdict:
    """Judge ``candidate`` against ``baseline`` (two evaluation records, ``eval.classifier.records``)."""
    if baseline.get("golden_set") != candidate.get("golden_set"):
        return GateVerdict(
            False,
            (
                f"evaluated on different golden sets (baseline {baseline.get('golden_set')}, candidate "
                f"{candidate.get('golden_set')}): evaluate both revisions on the current set",
            ),
        )
    reasons: list[str] = []
    regressed: list[str] = []
    for task, base in baseline["tasks"].items():
        new = candidate["tasks"].get(task)
        if new is None:
            reasons.append(f"{task}: the candidate has no figures for this task")
            continue
        dropped = [
            (label, recall, new["recall"].get(label, 0.0))
            for label, recall in sorted(base["recall"].items())
            if recall - new["recall"].get(label, 0.0) > margins.max_recall_drop + 1e-9
        ]
        regressed.extend(f"{task}/{label}" for label, _, _ in dropped)
        f1_drop = base["macro_f1"] - new["macro_f1"]
        if f1_drop > margins.max_macro_f1_drop + 1e-9:
            worst = ", ".join(label for label, _, _ in dropped) or "none beyond the recall margin"
            reasons.append(
                f"{task} macro-F1 {base['macro_f1']:.3f} -> {new['macro_f1']:.3f} (-{f1_drop:.3f}, allowed "
                f"-{margins.max_macro_f1_drop:.3f}); classes whose recall fell: {worst}"
            )
        reasons.extend(
            f"{task} recall of {label} {old:.3f} -> {now:.3f} (-{old - now:.3f}, allowed -{margins.max_recall_drop:.3f})"
            for label, old, now in dropped
        )
    return GateVerdict(not reasons, tuple(reasons), tuple(regressed))
