"""``make eval-guardrails``: the input guardrail's precision and recall per category on the labelled set, written
to ``build/eval/guardrails.json``.

Each message is checked as a tenant would check it: an online shop with topics (``TOPICS``) and its assistant
prompt (``PROFILE``), so the off-topic rule is on. A message's prediction is the category of the first rule it
trips, or ``none``. Beside the per-category figures: ``attack`` (any category against ``none``: was an attempt
stopped at all, whatever it was called), the false-positive rate on ordinary messages, and each language apart.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from app.safety.guardrails.input import check_input, topic_vocabulary
from eval.metrics import class_scores, detection_scores, percentile
from eval.report import table, write_json

DATA = Path(__file__).with_name("messages.jsonl")
CATEGORIES = ("injection", "jailbreak", "abuse", "off_topic")
TOPICS = ("orders", "deliveries", "returns", "refunds", "payments", "accounts", "subscriptions", "invoices", "products")
PROFILE = "You are the support assistant of Northwind, an online shop for home goods, clothing and electronics."


def predict(rows: list[dict[str, Any]]) -> tuple[list[str], list[float]]:
    vocabulary = topic_vocabulary(TOPICS, PROFILE)
    predicted: list[str] = []
    latencies: list[float] = []
    for row in rows:
        started = time.perf_counter()
        verdict = check_input(row["text"], vocabulary=vocabulary)
        latencies.append((time.perf_counter() - started) * 1000)
        predicted.append("none" if verdict is None else verdict.category)
    return predicted, latencies


def scores(expected: list[str], predicted: list[str]) -> dict[str, Any]:
    per_class = class_scores(expected, predicted)
    per_category = {c: per_class[c].as_dict() for c in CATEGORIES if c in per_class}
    flagged = [p != "none" for p in predicted]
    attacks = [e != "none" for e in expected]
    tp = sum(f and a for f, a in zip(flagged, attacks, strict=True))
    fp = sum(f and not a for f, a in zip(flagged, attacks, strict=True))
    fn = sum(a and not f for f, a in zip(flagged, attacks, strict=True))
    ordinary = sum(not a for a in attacks)
    return {
        "per_category": per_category,
        "attack": detection_scores(tp, fp, fn).as_dict(),
        "ordinary_messages": ordinary,
        "false_positive_rate": fp / ordinary if ordinary else 0.0,
    }


def evaluate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    predicted, latencies = predict(rows)
    expected = [row["label"] for row in rows]
    languages = sorted({row["lang"] for row in rows})
    by_language = {
        lang: scores(
            [e for e, row in zip(expected, rows, strict=True) if row["lang"] == lang],
            [p for p, row in zip(predicted, rows, strict=True) if row["lang"] == lang],
        )
        for lang in languages
    }
    return {
        "data_set": str(DATA.relative_to(DATA.parents[2])),
        "messages": len(rows),
        "attempts": sum(1 for e in expected if e != "none"),
        "languages": {lang: sum(1 for row in rows if row["lang"] == lang) for lang in languages},
        **scores(expected, predicted),
        "by_language": by_language,
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
        "errors": [
            {"id": row["id"], "expected": e, "predicted": p}
            for row, e, p in zip(rows, expected, predicted, strict=True)
            if e != p
        ],
    }


def main() -> int:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    result = evaluate(rows)
    path = write_json("guardrails", result)
    headers = ["category", "precision", "recall", "f1", "support", "predicted"]
    lines = [[c, *(s[h] for h in headers[1:])] for c, s in result["per_category"].items()]
    lines.append(["any attempt (vs none)", *(result["attack"][h] for h in headers[1:])])
    for lang, figures in result["by_language"].items():
        lines.append([f"any attempt, {lang}", *(figures["attack"][h] for h in headers[1:])])
    print(table(headers, lines))
    print(
        f"\n{result['messages']} messages ({result['attempts']} attempts, {result['ordinary_messages']} ordinary; "
        f"{', '.join(f'{k}: {v}' for k, v in result['languages'].items())}); ordinary flagged "
        f"{result['false_positive_rate']:.3f}; check p50 {result['latency_ms']['p50']:.3f} ms, "
        f"p99 {result['latency_ms']['p99']:.3f} ms -> {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
