"""The conversation lifecycle as pure rules: which action is allowed in which status, and where it leads.

    bot --(customer asks / chat's rules)--> waiting_human --(agent claims)--> with_agent --(agent resolves)--> resolved
     ^_________________ agent hands back to the assistant (from waiting_human or with_agent) _______/
     \\_____________________ customer closes (from any open status) ____________________________________--> closed

Each rule returns the new status, or None when the action is already done (repeating it is harmless: a client
retrying after a timeout gets the same answer), or raises the problem the caller gets.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from app.contracts.api import ConversationStatus as Status
from app.sessions.errors import AlreadyClaimedError, ConversationClosedError, ConversationStateError

TERMINAL = frozenset({Status.RESOLVED, Status.CLOSED})
HUMAN = frozenset({Status.WAITING_HUMAN, Status.WITH_AGENT})

TurnMode = Literal["bot", "human"]


def _refuse_terminal(status: Status) -> None:
    if status in TERMINAL:
        raise ConversationClosedError(
            f"The conversation is {status.value}; start a new one.", conversation_status=status.value
        )


def _state_conflict(status: Status, action: str) -> ConversationStateError:
    return ConversationStateError(
        f"Cannot {action} a conversation that is {status.value}.", conversation_status=status.value
    )


def turn_mode(status: Status) -> TurnMode:
    """Who answers a customer message: the bot, or nobody now (a human has it; the message is only stored)."""
    _refuse_terminal(status)
    return "human" if status in HUMAN else "bot"


def request_human(status: Status) -> Status | None:
    _refuse_terminal(status)
    return Status.WAITING_HUMAN if status == Status.BOT else None


def close(status: Status) -> Status | None:
    if status == Status.CLOSED:
        return None
    _refuse_terminal(status)
    return Status.CLOSED


def claim(status: Status, assigned: UUID | None, agent: UUID) -> Status | None:
    _refuse_terminal(status)
    if status == Status.WITH_AGENT:
        if assigned == agent:
            return None
        raise AlreadyClaimedError("Another agent has already claimed this conversation.")
    if status != Status.WAITING_HUMAN:
        raise _state_conflict(status, "claim")
    return Status.WITH_AGENT


def _check_handler(status: Status, assigned: UUID | None, agent: UUID, *, is_admin: bool) -> None:
    if status == Status.WITH_AGENT and assigned != agent and not is_admin:
        raise AlreadyClaimedError("Another agent handles this conversation.")


def agent_reply(status: Status, assigned: UUID | None, agent: UUID, *, is_admin: bool) -> None:
    """An agent may reply once the conversation is theirs (an admin may step in on any claimed one)."""
    _refuse_terminal(status)
    if status != Status.WITH_AGENT:
        raise _state_conflict(status, "reply to (claim it first)")
    _check_handler(status, assigned, agent, is_admin=is_admin)


def resolve(status: Status, assigned: UUID | None, agent: UUID, *, is_admin: bool) -> Status | None:
    """Resolve a conversation a human has (claimed by this agent, or still waiting, e.g. spam)."""
    if status == Status.RESOLVED:
        return None
    _refuse_terminal(status)
    if status == Status.BOT:
        raise _state_conflict(status, "resolve")
    _check_handler(status, assigned, agent, is_admin=is_admin)
    return Status.RESOLVED


def hand_back(status: Status, assigned: UUID | None, agent: UUID, *, is_admin: bool) -> Status | None:
    """Give the conversation back to the assistant (the customer's question is answered, or a person is not
    needed after all): from waiting or from the agent who has it (or an admin). Repeating it is harmless."""
    if status == Status.BOT:
        return None
    _refuse_terminal(status)
    _check_handler(status, assigned, agent, is_admin=is_admin)
    return Status.BOT
