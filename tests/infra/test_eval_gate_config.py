"""A stack that points the classifier at a new revision needs a passing recorded evaluation of it: config
validation refuses it otherwise, naming the gate's numbers and the classes that got worse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.classifier import records
from stacks.config import parse_stack_config
from stacks.config.serving import CLASSIFIER_DEFAULTS
from tests.infra.stack_values import AWS_DEV, issues_of

MODEL_ID = CLASSIFIER_DEFAULTS["modelId"]
NEW_REVISION = "1" * 40


def _planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, macro_drop: float, recall_drop: float) -> None:
    """The committed records plus an evaluation of NEW_REVISION, lower than the baseline by the given points."""
    committed = records.load()
    baseline: dict[str, Any] = committed["evaluations"][committed["baseline"]]
    candidate = json.loads(json.dumps(baseline)) | {"revision": NEW_REVISION}
    intent = candidate["tasks"]["intent"]
    intent["macro_f1"] = round(intent["macro_f1"] - macro_drop, 4)
    for label in ("billing", "refund"):
        intent["recall"][label] = round(intent["recall"][label] - recall_drop, 4)
    committed["evaluations"][records.key_of(MODEL_ID, NEW_REVISION)] = candidate
    path = tmp_path / "classifier.json"
    path.write_text(json.dumps(committed))
    monkeypatch.setattr(records, "RECORDS", path)


def test_the_committed_default_revision_is_the_evaluated_baseline() -> None:
    config = parse_stack_config("dev", AWS_DEV)
    classifier = config.serving.model("classifier")
    assert records.load()["baseline"] == records.key_of(classifier.model_id, classifier.revision)


def test_a_revision_without_a_recorded_evaluation_is_refused() -> None:
    found = issues_of({**AWS_DEV, "classifierModelRevision": NEW_REVISION})
    assert found == [
        f"helpline:classifierModelRevision = '{NEW_REVISION}': the evaluation gate refuses "
        f"{MODEL_ID}@{NEW_REVISION[:12]}: no recorded evaluation of {MODEL_ID}@{NEW_REVISION} in "
        "eval/baselines/classifier.json: evaluate it against a real engine serving it (make eval ENGINE_URL=... "
        "EVAL_ARGS='--model-id ... --revision ... --record') and commit the record"
    ]


def test_a_planted_five_point_regression_is_refused_naming_the_numbers_and_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _planted(tmp_path, monkeypatch, macro_drop=0.05, recall_drop=0.1)
    (found,) = issues_of({**AWS_DEV, "classifierModelRevision": NEW_REVISION})
    assert "intent macro-F1 " in found
    assert "(-0.050, allowed -0.020); classes whose recall fell: billing, refund" in found
    assert "intent recall of billing" in found


def test_a_passing_evaluation_lets_the_stack_serve_the_revision_and_margins_are_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _planted(tmp_path, monkeypatch, macro_drop=0.01, recall_drop=0.03)
    config = parse_stack_config("dev", {**AWS_DEV, "classifierModelRevision": NEW_REVISION})
    assert config.serving.model("classifier").revision == NEW_REVISION
    stricter = {**AWS_DEV, "classifierModelRevision": NEW_REVISION, "evalMaxClassRecallDrop": "0.02"}
    (found,) = issues_of(stricter)
    assert "intent recall of billing" in found
    assert "allowed -0.020" in found
