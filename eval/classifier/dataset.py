"""Labelled customer messages: the golden set and reviewed items exported from the review queue.

One JSON object per line: ``id``, ``lang``, ``text``, ``intent`` and ``emotion`` (labels of the classifier's own
schema, ``app.chat.escalation``), ``tags`` (hard cases: sarcasm, mixed_intent, typo, no_keyword, code_switch) and
``source`` (``authored``, or ``review`` with a ``provenance`` object for items a reviewer labelled). Every problem
of a file is reported at once, each naming the file, line, key and value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.chat.escalation import EMOTIONS, INTENTS

HERE = Path(__file__).parent
GOLDEN_SET = HERE / "golden.jsonl"
#: Items a reviewer labelled, written by ``eval.classifier.reviews.export``; ``make eval`` adds them
#: with ``--include-reviews``.
REVIEWED_SET = HERE / "reviewed.jsonl"
TAGS = frozenset({"sarcasm", "mixed_intent", "typo", "no_keyword", "code_switch"})
SOURCES = frozenset({"authored", "review"})
_REQUIRED = ("id", "lang", "text", "intent", "emotion")


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    lang: str
    text: str
    intent: str
    emotion: str
    tags: tuple[str, ...] = ()
    source: str = "authored"
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "lang": self.lang,
            "text": self.text,
            "intent": self.intent,
            "emotion": self.emotion,
            "tags": list(self.tags),
            "source": self.source,
        }
        if self.provenance:
            document["provenance"] = dict(self.provenance)
        return document


class DatasetError(ValueError):
    """Every problem of a labelled file, one per line of the message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _problems_of(where: str, row: Any) -> list[str]:
    if not isinstance(row, dict):
        return [f"{where}: not a JSON object"]
    problems = [f"{where}: key {name!r} is missing" for name in _REQUIRED if not row.get(name)]
    allowed = {"intent": INTENTS, "emotion": EMOTIONS}
    for name, labels in allowed.items():
        value = row.get(name)
        if value and value not in labels:
            problems.append(f"{where}: {name} {value!r} is not a label; allowed: {', '.join(labels)}")
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not set(tags) <= TAGS:
        problems.append(f"{where}: tags {tags!r} must be a list of {', '.join(sorted(TAGS))}")
    if row.get("source", "authored") not in SOURCES:
        problems.append(f"{where}: source {row.get('source')!r}; allowed: {', '.join(sorted(SOURCES))}")
    return problems


def parse(lines: Iterable[str], *, name: str) -> list[LabelledMessage]:
    """The items of a labelled file's lines; raises ``DatasetError`` naming every bad line (and duplicate ids)."""
    problems: list[str] = []
    items: list[LabelledMessage] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc.msg})")
            continue
        found = _problems_of(where, row)
        if not found and row["id"] in seen:
            found.append(f"{where}: id {row['id']!r} repeats line {seen[row['id']]}")
        problems.extend(found)
        if found:
            continue
        seen[row["id"]] = number
        items.append(
            LabelledMessage(
                id=row["id"],
                lang=row["lang"],
                text=row["text"],
                intent=row["intent"],
                emotion=row["emotion"],
                tags=tuple(row.get("tags", ())),
                source=row.get("source", "authored"),
                provenance=row.get("provenance") or {},
            )
        )
    if problems:
        raise DatasetError(problems)
    return items


def load(path: Path) -> list[LabelledMessage]:
    return parse(path.read_text(encoding="utf-8").splitlines(), name=str(path))


def fingerprint(items: Iterable[LabelledMessage]) -> str:
    """A short hash of the items' texts and labels: two evaluations are comparable only on the same set."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.id):
        digest.update(json.dumps([item.id, item.text, item.intent, item.emotion]).encode())
    return digest.hexdigest()[:16]
