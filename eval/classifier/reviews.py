"""Reviewed items -> the golden set's format, with provenance, appended to ``reviewed.jsonl``.

A review item is a customer message a reviewer relabelled (after a thumbs-down, a guardrail hit, an "I don't know"
turn or an escalation). Exported, it becomes a labelled message with ``source: "review"`` and a ``provenance``
naming the review, the conversation, the message, the reviewer, when, and why it was queued, so a golden item
can always be traced back. Exporting twice adds nothing twice (items are keyed by review id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from eval.classifier.dataset import REVIEWED_SET, LabelledMessage, load, parse


@dataclass(frozen=True)
class ReviewedMessage:
    review_id: str
    conversation_id: str
    message_id: str
    text: str  # as stored: PII already replaced by placeholders
    lang: str
    intent: str
    emotion: str
    reviewer: str
    reviewed_at: str
    #: why it was queued: thumbs_down, guardrail, no_answer or escalation
    reason: str


def to_labelled(item: ReviewedMessage) -> LabelledMessage:
    return LabelledMessage(
        id=f"review-{item.review_id}",
        lang=item.lang,
        text=item.text,
        intent=item.intent,
        emotion=item.emotion,
        source="review",
        provenance={
            "review_id": item.review_id,
            "conversation_id": item.conversation_id,
            "message_id": item.message_id,
            "reviewer": item.reviewer,
            "reviewed_at": item.reviewed_at,
            "reason": item.reason,
        },
    )


def export(items: Iterable[ReviewedMessage], path: Path = REVIEWED_SET) -> int:
    """Append the items not exported yet; labels are checked as the golden set's are. Returns how many were new."""
    existing = {item.id for item in load(path)} if path.exists() else set()
    fresh = [to_labelled(item) for item in items]
    fresh = [item for item in fresh if item.id not in existing]
    lines = [json.dumps(item.as_json(), ensure_ascii=False) for item in fresh]
    parse(lines, name=f"{path} (export)")  # refuses an unknown label before anything is written
    if lines:
        with path.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
    return len(lines)
