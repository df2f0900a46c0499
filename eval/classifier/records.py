"""The committed evaluations of served classifier revisions (``eval/baselines/classifier.json``).

The file names the ``baseline`` (``<model id>@<revision>``: the revision production is judged against) and keeps
one summary per evaluated revision: the golden set's fingerprint, the engine it ran on, macro-F1 and per-class
recall of each task. A stack may serve the baseline or a revision whose recorded evaluation passes the gate
against it; ``make eval ENGINE_URL=... EVAL_ARGS='... --record'`` adds a revision, and moving ``baseline`` is a reviewed one-line change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.gate import GateMargins, GateVerdict, compare

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "eval" / "baselines" / "classifier.json"


def key_of(model_id: str, revision: str) -> str:
    return f"{model_id}@{revision}"


def summary_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the gate needs from a full ``make eval`` result (``build/eval/classifier.json``)."""
    return {
        "model_id": result["model_id"],
        "revision": result["revision"],
        "engine": result["engine"],
        "golden_set": result["golden_set"],
        "items": result["items"],
        "evaluated_at": result["evaluated_at"],
        "tasks": {
            task: {
                "macro_f1": round(figures["macro_f1"], 4),
                "recall": {
                    label: round(scores["recall"], 4)
                    for label, scores in figures["per_class"].items()
                    if scores["support"]
                },
            }
            for task, figures in result["tasks"].items()
        },
    }


def load(path: Path | None = None) -> dict[str, Any]:
    """The committed records (``RECORDS`` unless ``path`` says otherwise)."""
    return json.loads((path or RECORDS).read_text())


def add(summary: Mapping[str, Any], path: Path | None = None) -> None:
    """Record (or replace) one revision's evaluation; the baseline stays where it is."""
    path = path or RECORDS
    key = key_of(summary["model_id"], summary["revision"])
    records: dict[str, Any] = load(path) if path.exists() else {"baseline": key, "evaluations": {}}
    records["evaluations"][key] = dict(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")


def verdict_for(
    model_id: str,
    revision: str,
    margins: GateMargins,
    records: Mapping[str, Any],
    *,
    source: str = "eval/baselines/classifier.json",
) -> GateVerdict:
    """May a stack serve ``model_id@revision``? The baseline itself passes; any other revision needs a recorded
    evaluation that passes the gate against the baseline's."""
    wanted = key_of(model_id, revision)
    baseline_key = records.get("baseline")
    evaluations = records.get("evaluations", {})
    if baseline_key not in evaluations:
        return GateVerdict(False, (f"{source} names baseline {baseline_key!r} but holds no evaluation of it",))
    if wanted == baseline_key:
        return GateVerdict(True, ())
    candidate = evaluations.get(wanted)
    if candidate is None:
        return GateVerdict(
            False,
            (
                f"no recorded evaluation of {wanted} in {source}: evaluate it against a real engine serving it "
                "(make eval ENGINE_URL=... EVAL_ARGS='--model-id ... --revision ... --record') and commit the record",
            ),
        )
    return compare(evaluations[baseline_key], candidate, margins)
