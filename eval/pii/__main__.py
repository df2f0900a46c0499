"""``make eval-pii``: precision and recall per PII kind on the labelled set, written to ``build/eval/pii.json``.

A prediction counts when it overlaps a labelled span of the same kind (each labelled span is matched once).
Beside the per-kind figures, ``leak_rate`` is what matters for the model and the stores: the share of labelled
values of which some part is still readable after redaction (whatever kind the detector thought it was).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from app.contracts.safety import PiiKind
from app.safety.pii.detector import STRUCTURED_KINDS, Finding, find_pii
from eval.metrics import detection_scores, percentile
from eval.report import table, write_json

DATA = Path(__file__).with_name("messages.jsonl")
STRUCTURED_RECALL_TARGET = 0.95


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def evaluate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    leaked = 0
    labelled = 0
    latencies: list[float] = []
    misses: list[dict[str, str]] = []
    for row in rows:
        text = row["text"]
        started = time.perf_counter()
        found: list[Finding] = find_pii(text)
        latencies.append((time.perf_counter() - started) * 1000)
        unmatched = list(found)
        for span in row["spans"]:
            labelled += 1
            kind = span["kind"]
            match = next(
                (f for f in unmatched if f.kind == kind and _overlaps(f.start, f.end, span["start"], span["end"])), None
            )
            if match is not None:
                unmatched.remove(match)
                tp[kind] += 1
            else:
                fn[kind] += 1
                misses.append({"id": row["id"], "kind": kind})
            covered = any(f.start <= span["start"] and f.end >= span["end"] for f in found)
            leaked += not covered
        for finding in unmatched:
            fp[finding.kind.value] += 1
    per_kind = {kind.value: detection_scores(tp[kind], fp[kind], fn[kind]).as_dict() for kind in PiiKind}
    structured = detection_scores(
        sum(tp[k] for k in STRUCTURED_KINDS), sum(fp[k] for k in STRUCTURED_KINDS), sum(fn[k] for k in STRUCTURED_KINDS)
    )
    return {
        "data_set": str(DATA.relative_to(DATA.parents[2])),
        "messages": len(rows),
        "messages_with_pii": sum(1 for row in rows if row["spans"]),
        "labelled_spans": labelled,
        "per_kind": per_kind,
        "structured": structured.as_dict(),
        "structured_recall_target": STRUCTURED_RECALL_TARGET,
        "leak_rate": leaked / labelled if labelled else 0.0,
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
        "misses": misses,
    }


def main() -> int:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    find_pii("warm up the analyzer")
    result = evaluate(rows)
    path = write_json("pii", result)
    headers = ["kind", "precision", "recall", "f1", "support", "predicted"]
    lines = [[kind, *(s[h] for h in headers[1:])] for kind, s in result["per_kind"].items()]
    lines.append(["structured (all six)", *(result["structured"][h] for h in headers[1:])])
    print(table(headers, lines))
    print(
        f"\n{result['messages']} messages ({result['messages_with_pii']} with PII, {result['labelled_spans']} spans); "
        f"leak rate {result['leak_rate']:.3f}; analyze p50 {result['latency_ms']['p50']:.1f} ms, "
        f"p99 {result['latency_ms']['p99']:.1f} ms -> {path}"
    )
    recall = result["structured"]["recall"]
    if recall < STRUCTURED_RECALL_TARGET:
        print(f"structured recall {recall:.3f} is below the target {STRUCTURED_RECALL_TARGET}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
