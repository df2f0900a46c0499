"""The lifecycle rules as a table: every status x action, its target or its refusal."""

from __future__ import annotations

from uuid import uuid4

import pytest

from app.contracts.api import ConversationStatus as S
from app.sessions import lifecycle
from app.sessions.errors import AlreadyClaimedError, ConversationClosedError, ConversationStateError

ME, OTHER = uuid4(), uuid4()
ALL = list(S)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(S.BOT, "bot"), (S.WAITING_HUMAN, "human"), (S.WITH_AGENT, "human"), (S.RESOLVED, None), (S.CLOSED, None)],
)
def test_turn_mode(status: S, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ConversationClosedError):
            lifecycle.turn_mode(status)
    else:
        assert lifecycle.turn_mode(status) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [(S.BOT, S.WAITING_HUMAN), (S.WAITING_HUMAN, None), (S.WITH_AGENT, None)],
)
def test_request_human(status: S, expected: S | None) -> None:
    assert lifecycle.request_human(status) == expected


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_nothing_reopens_an_ended_conversation(status: S) -> None:
    for action in (
        lambda: lifecycle.request_human(status),
        lambda: lifecycle.claim(status, None, ME),
        lambda: lifecycle.agent_reply(status, ME, ME, is_admin=True),
    ):
        with pytest.raises(ConversationClosedError):
            action()


def test_close() -> None:
    assert [lifecycle.close(s) for s in (S.BOT, S.WAITING_HUMAN, S.WITH_AGENT, S.CLOSED)] == [S.CLOSED] * 3 + [None]
    with pytest.raises(ConversationClosedError):
        lifecycle.close(S.RESOLVED)


def test_claim() -> None:
    assert lifecycle.claim(S.WAITING_HUMAN, None, ME) == S.WITH_AGENT
    assert lifecycle.claim(S.WITH_AGENT, ME, ME) is None
    with pytest.raises(AlreadyClaimedError):
        lifecycle.claim(S.WITH_AGENT, OTHER, ME)
    with pytest.raises(ConversationStateError):
        lifecycle.claim(S.BOT, None, ME)


def test_agent_reply() -> None:
    lifecycle.agent_reply(S.WITH_AGENT, ME, ME, is_admin=False)
    lifecycle.agent_reply(S.WITH_AGENT, OTHER, ME, is_admin=True)
    with pytest.raises(AlreadyClaimedError):
        lifecycle.agent_reply(S.WITH_AGENT, OTHER, ME, is_admin=False)
    for status in (S.BOT, S.WAITING_HUMAN):
        with pytest.raises(ConversationStateError):
            lifecycle.agent_reply(status, None, ME, is_admin=True)


def test_resolve() -> None:
    assert lifecycle.resolve(S.WITH_AGENT, ME, ME, is_admin=False) == S.RESOLVED
    assert lifecycle.resolve(S.WAITING_HUMAN, None, ME, is_admin=False) == S.RESOLVED
    assert lifecycle.resolve(S.RESOLVED, ME, ME, is_admin=False) is None
    with pytest.raises(AlreadyClaimedError):
        lifecycle.resolve(S.WITH_AGENT, OTHER, ME, is_admin=False)
    assert lifecycle.resolve(S.WITH_AGENT, OTHER, ME, is_admin=True) == S.RESOLVED
    with pytest.raises(ConversationStateError):
        lifecycle.resolve(S.BOT, None, ME, is_admin=True)
    with pytest.raises(ConversationClosedError):
        lifecycle.resolve(S.CLOSED, None, ME, is_admin=True)


def test_every_status_is_covered() -> None:
    assert set(ALL) == lifecycle.TERMINAL | lifecycle.HUMAN | {S.BOT}


def test_hand_back() -> None:
    assert lifecycle.hand_back(S.WITH_AGENT, ME, ME, is_admin=False) == S.BOT
    assert lifecycle.hand_back(S.WAITING_HUMAN, None, ME, is_admin=False) == S.BOT
    assert lifecycle.hand_back(S.BOT, None, ME, is_admin=False) is None
    with pytest.raises(AlreadyClaimedError):
        lifecycle.hand_back(S.WITH_AGENT, OTHER, ME, is_admin=False)
    assert lifecycle.hand_back(S.WITH_AGENT, OTHER, ME, is_admin=True) == S.BOT
    for status in lifecycle.TERMINAL:
        with pytest.raises(ConversationClosedError):
            lifecycle.hand_back(status, None, ME, is_admin=True)
