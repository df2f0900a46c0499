"""``make eval``: the classifier on the golden set -> ``build/eval/classifier.json`` and a table.

    python -m eval.classifier                                   # a simulator started for the run
    python -m eval.classifier --engine-url http://host:8000/v1 --model qwen2.5-1.5b-instruct \\
        --model-id Qwen/Qwen2.5-1.5B-Instruct --revision <sha> [--record] [--gate]

``--record`` adds the run's summary to ``eval/baselines/classifier.json`` (commit it with the stack change that
serves the revision); ``--gate`` exits 1 when the run would be refused against the baseline (the deploy workflow's
step). The engine's key comes from ``$VLLM_API_KEY``, never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.classifier import dataset, records
from eval.classifier.runner import classify_all
from eval.classifier.scoring import TASKS, score
from eval.engines import EngineTarget, simulated_engine
from eval.gate import DEFAULT_MAX_MACRO_F1_DROP, DEFAULT_MAX_RECALL_DROP, GateMargins, compare
from eval.report import OUTPUT_DIR, table, write_json

DEFAULT_SERVED_NAME = "helpline-classifier"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval.classifier", description="the classifier on the golden set")
    parser.add_argument(
        "--engine-url",
        default=os.environ.get("HELPLINE_EVAL_ENGINE_URL") or None,
        help="OpenAI base URL of a running engine (ends in /v1); unset: start the simulator",
    )
    parser.add_argument("--model", default=DEFAULT_SERVED_NAME, help="served model name of the classifier")
    parser.add_argument("--model-id", default="unknown", help="Hugging Face id the engine serves (for the record)")
    parser.add_argument("--revision", default="unknown", help="its 40-hex revision (for the record)")
    parser.add_argument(
        "--engine", default=None, help="engine name recorded (default: vllm with a URL, else enginesim)"
    )
    parser.add_argument("--include-reviews", action="store_true", help=f"add {dataset.REVIEWED_SET.name} to the set")
    parser.add_argument("--limit", type=int, default=None, help="only the first N items (a smoke run; never --record)")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR, help="where classifier.json goes")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per classification request")
    parser.add_argument("--record", action="store_true", help="add the summary to eval/baselines/classifier.json")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the gate refuses this run")
    parser.add_argument("--max-macro-f1-drop", type=float, default=DEFAULT_MAX_MACRO_F1_DROP)
    parser.add_argument("--max-recall-drop", type=float, default=DEFAULT_MAX_RECALL_DROP)
    return parser


def _engine(args: argparse.Namespace) -> AbstractContextManager[EngineTarget]:
    if args.engine_url is None:
        return simulated_engine(args.model)
    target = EngineTarget(
        base_url=args.engine_url.rstrip("/"),
        model=args.model,
        api_key=os.environ.get("VLLM_API_KEY") or None,
        engine=args.engine or "vllm",
    )
    return nullcontext(target)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    items = dataset.load(dataset.GOLDEN_SET)
    if args.include_reviews and dataset.REVIEWED_SET.exists():
        items += dataset.load(dataset.REVIEWED_SET)
    if args.limit is not None:
        items = items[: args.limit]
    with _engine(args) as target:
        predictions = asyncio.run(
            classify_all(items, target, concurrency=args.concurrency, timeout_seconds=args.timeout)
        )
    return {
        "model_id": args.model_id,
        "revision": args.revision,
        "served_model_name": target.model,
        "engine": args.engine or target.engine,
        "golden_set": dataset.fingerprint(items),
        "included_reviews": bool(args.include_reviews),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **score(items, predictions),
    }


def render(result: dict[str, Any]) -> str:
    headers = ["class", "precision", "recall", "f1", "support", "predicted"]
    blocks: list[str] = []
    for task in TASKS:
        figures = result["tasks"][task]
        rows = [[label, *(s[h] for h in headers[1:])] for label, s in figures["per_class"].items()]
        blocks.append(f"{task}\n{table(headers, rows)}")
        blocks.append(
            f"{task}: accuracy {figures['accuracy']:.3f}, macro-F1 {figures['macro_f1']:.3f}, "
            f"weighted F1 {figures['weighted_f1']:.3f}"
        )
        labels, matrix = figures["confusion"]["labels"], figures["confusion"]["matrix"]
        short = [label[:5] for label in labels]
        blocks.append(
            f"{task} confusion (rows: expected, columns: predicted)\n"
            + table(["expected", *short], [[label, *row] for label, row in zip(labels, matrix, strict=True)])
        )
    by_group = [
        [group, g["items"], g["intent_accuracy"], g["emotion_accuracy"]]
        for group, g in {**result["by_language"], **result["by_tag"]}.items()
    ]
    blocks.append(table(["language / hard case", "items", "intent acc", "emotion acc"], by_group))
    latency = result["latency_ms"]
    blocks.append(
        f"{result['items']} messages ({result['unanswered']} unanswered) on {result['engine']} "
        f"({result['served_model_name']}); latency p50 {latency['p50']:.0f} ms, p90 {latency['p90']:.0f} ms, "
        f"p99 {latency['p99']:.0f} ms"
    )
    return "\n\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.record and (args.limit is not None or "unknown" in (args.model_id, args.revision)):
        parser.error("--record needs --model-id and --revision, and the whole set (no --limit)")
    result = evaluate(args)
    path = write_json("classifier", result, output_dir=args.output_dir)
    print(render(result))
    print(f"-> {path}")
    if result["unanswered"] == result["items"]:
        print("the engine answered no classification at all: is it the classifier, and reachable?", file=sys.stderr)
        return 2
    summary = records.summary_of(result)
    if args.record:
        records.add(summary)
        print(f"recorded {records.key_of(args.model_id, args.revision)} in {records.RECORDS}")
    if args.gate:
        committed = records.load()
        verdict = compare(
            committed["evaluations"][committed["baseline"]],
            summary,
            GateMargins(args.max_macro_f1_drop, args.max_recall_drop),
        )
        print(f"gate against {committed['baseline']}: {verdict.explain()}")
        return 0 if verdict.passed else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
