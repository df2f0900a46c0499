"""Grounded answers: what the model is shown from the tenant's knowledge, what the answer cites, and the reply
when the knowledge does not answer.

Prompt order, for the engine's prefix cache: the tenant's system prompt and the grounding rules first (the same
for every conversation of the tenant), then the conversation's history (the same as last turn), and only then
what changes per turn: the retrieved passages, numbered, with the customer's new question. The passages go into
that last user message, so they never shift the cached prefix of earlier turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.contracts.api import Citation
from app.contracts.internal import HistoryMessage
from app.contracts.knowledge import CuratedMatch, Retrieval, RetrievedPassage

GROUNDING_RULES = (
    "Answer only from the numbered passages of the company's help centre given with the customer's question. "
    "Cite the passages you use as [1], [2]. If they do not contain the answer, say that you cannot answer from "
    "the company's information and offer to connect the customer with a person. Never guess policies, prices "
    "or dates."
)
NO_ANSWER_TEXT = (
    "I'm sorry, I can't answer that from our help centre, and I don't want to guess. "
    "Would you like me to connect you with a person from our team?"
)


class Grounding(StrEnum):
    """How an answer was produced (the ``helpline_knowledge_answers_total`` outcome)."""

    GROUNDED = "grounded"
    CURATED = "curated"
    NO_ANSWER = "no_answer"
    #: The tenant has no published knowledge: the assistant profile alone answers, as before knowledge existed.
    UNGROUNDED = "ungrounded"


@dataclass(frozen=True)
class GroundedTurn:
    grounding: Grounding
    passages: Sequence[RetrievedPassage] = ()
    curated: CuratedMatch | None = None

    @property
    def canned_text(self) -> str | None:
        """The reply sent without calling the model (a curated answer, or "cannot answer"), else None."""
        if self.grounding == Grounding.CURATED and self.curated is not None:
            return self.curated.answer
        if self.grounding == Grounding.NO_ANSWER:
            return NO_ANSWER_TEXT
        return None

    @property
    def sources(self) -> list[Citation]:
        if self.curated is not None and self.grounding == Grounding.CURATED:
            return [Citation(kind="curated", curated_answer_id=self.curated.id, title=self.curated.question)]
        return citations(self.passages) if self.grounding == Grounding.GROUNDED else []


def decide(retrieval: Retrieval) -> GroundedTurn:
    """Curated answer first; no passages at all means no knowledge base; then the tenant's threshold."""
    if retrieval.curated is not None:
        return GroundedTurn(Grounding.CURATED, curated=retrieval.curated)
    if not retrieval.passages:
        return GroundedTurn(Grounding.UNGROUNDED)
    if retrieval.answerable:
        return GroundedTurn(Grounding.GROUNDED, passages=retrieval.passages)
    return GroundedTurn(Grounding.NO_ANSWER)


def system_prompt(profile_prompt: str) -> str:
    return f"{profile_prompt}\n\n{GROUNDING_RULES}"


def _label(passage: RetrievedPassage) -> str:
    return " > ".join(passage.heading_path) or passage.title


def question_with_context(question: str, passages: Sequence[RetrievedPassage]) -> str:
    """The customer's question preceded by the numbered passages (the format the simulator reads too)."""
    lines = ["<context>"]
    lines += [f"[{n}] {_label(p)}: {p.text}" for n, p in enumerate(passages, start=1)]
    lines += ["</context>", "", f"Customer question: {question}"]
    return "\n".join(lines)


def citations(passages: Sequence[RetrievedPassage]) -> list[Citation]:
    """One citation per article, in the order its first passage was ranked."""
    seen: dict[str, Citation] = {}
    for passage in passages:
        key = str(passage.article_id)
        if key not in seen:
            seen[key] = Citation(
                article_id=passage.article_id, title=passage.title, url=passage.url, passage=_label(passage)
            )
    return list(seen.values())


def grounded_messages(
    profile_prompt: str, history: Sequence[HistoryMessage], turn: GroundedTurn
) -> tuple[str, list[HistoryMessage]]:
    """The system prompt and history the model sees: unchanged unless the turn is grounded."""
    if turn.grounding != Grounding.GROUNDED or not history:
        return profile_prompt, list(history)
    *earlier, newest = history
    grounded = HistoryMessage(role=newest.role, content=question_with_context(newest.content, turn.passages))
    return system_prompt(profile_prompt), [*earlier, grounded]
