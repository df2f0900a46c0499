"""``make eval``'s command end to end: on a simulator it starts itself, and on the session's real vLLM (a smoke run:
the tiny random-weights model's labels are noise, the point is the path and the file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.chat.escalation import EMOTIONS, INTENTS
from app.core.waits import scaled
from eval.classifier.scoring import NO_ANSWER
from tests.support.vllm_fixtures import RealVllm

ROOT = Path(__file__).resolve().parents[2]


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eval.classifier", "--output-dir", str(tmp_path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=scaled(240),
        env={**os.environ, **(env or {})},
        check=False,
    )


def _run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict]:
    completed = _cli(tmp_path, *args, env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed, json.loads((tmp_path / "classifier.json").read_text())


def test_make_eval_on_the_simulator_writes_per_class_figures_confusion_and_latency(tmp_path: Path) -> None:
    completed, result = _run(tmp_path, "--limit", "60")
    assert result["items"] == 60
    assert result["engine"] == "enginesim"
    intent = result["tasks"]["intent"]
    assert {"precision", "recall", "f1", "support"} <= set(intent["per_class"]["human_request"])
    assert len(intent["confusion"]["matrix"]) == len(intent["confusion"]["labels"])
    assert sum(map(sum, intent["confusion"]["matrix"])) == 60
    assert 0 < intent["macro_f1"] <= 1
    assert result["latency_ms"]["p50"] > 0
    assert result["unanswered"] == 0  # the simulator answers every structured-output request
    assert "intent confusion (rows: expected, columns: predicted)" in completed.stdout
    assert "macro-F1" in completed.stdout


def test_gate_flag_fails_a_run_worse_than_the_baseline(tmp_path: Path) -> None:
    """A partial run scores a different set: the gate refuses to compare it (exit 1) and says why."""
    completed = _cli(tmp_path, "--limit", "12", "--gate")
    assert completed.returncode == 1
    assert "different golden sets" in completed.stdout


def test_record_needs_the_revision_and_the_whole_set(tmp_path: Path) -> None:
    completed = _cli(tmp_path, "--limit", "3", "--record")
    assert completed.returncode == 2
    assert "--record needs --model-id and --revision" in completed.stderr


@pytest.mark.timeout(600)
def test_make_eval_against_a_real_vllm_by_url(real_vllm: RealVllm, tmp_path: Path) -> None:
    _completed, result = _run(
        tmp_path,
        "--engine-url",
        real_vllm.v1_url,
        "--model",
        real_vllm.model,
        "--limit",
        "6",
        "--concurrency",
        "3",
        "--timeout",
        str(scaled(120)),
        env={"VLLM_API_KEY": real_vllm.api_key or ""},
    )
    assert result["engine"] == "vllm"
    assert result["items"] == 6
    # Structured outputs keep every label the model produced inside the schema's enums.
    answered = [
        label
        for task in ("intent", "emotion")
        for label, scores in result["tasks"][task]["per_class"].items()
        if scores["predicted"]
    ]
    assert set(answered) <= {NO_ANSWER, *INTENTS, *EMOTIONS}
