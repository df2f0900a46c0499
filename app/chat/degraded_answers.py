"""What the customer reads on a degraded level: a help-centre passage served as the answer (saturated), the note
on a fallback model's answer (chat model down), and the message-taken reply (everything down)."""

from __future__ import annotations

from app.chat.grounding import GroundedTurn, Grounding

FALLBACK_NOTE = (
    "\n\n(Our main assistant is unavailable right now, so a simpler backup assistant answered. "
    "If this does not help, ask for a person and a member of our team will take over.)"
)
EVERYTHING_DOWN_TEXT = (
    "I'm sorry, our assistant is unavailable right now. Your message has been saved and passed to our team: "
    "a person will reply here as soon as they can, so there is no need to send it again."
)


def extractive(grounded: GroundedTurn) -> tuple[str, GroundedTurn] | None:
    """The best-ranked passage of an answerable retrieval as the answer itself (no generation), and the turn
    narrowed to that passage (what the answer cites); None when the knowledge does not answer."""
    if grounded.grounding != Grounding.GROUNDED or not grounded.passages:
        return None
    best = grounded.passages[0]
    heading = " > ".join(best.heading_path) or best.title
    text = f"Here is what our help centre says ({heading}):\n\n{best.text.strip()}"
    return text, GroundedTurn(Grounding.GROUNDED, passages=[best])


def everything_down_text(status_page_url: str | None) -> str:
    if status_page_url is None:
        return EVERYTHING_DOWN_TEXT
    return f"{EVERYTHING_DOWN_TEXT} You can follow the service's status at {status_page_url}."
