"""An engine replica dies in the middle of a conversation: the customer keeps what was said, and the next turn
is answered by another replica at once (chat -> router -> engine replicas, sessions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.waits import scaled
from tests.app.chat.conftest import (
    Desk,
    Engines,
    _clear_faults,
    _empty_schemas,
    chat_database,
    chat_options,
    chat_server,
    desk,
    home,
    router,
    running_engines,
    sessions_database,
    sessions_server,
)

__all__ = [  # imported for pytest to find them here
    "_clear_faults",
    "_empty_schemas",
    "chat_database",
    "chat_options",
    "chat_server",
    "desk",
    "router",
    "sessions_database",
    "sessions_server",
]


@pytest.fixture
def engines() -> Iterator[Engines]:
    """Replicas of this test's own: one of them is killed."""
    with running_engines() as started:
        yield started


async def test_a_replica_crash_mid_answer_is_continued_then_the_next_turn_goes_elsewhere(
    desk: Desk, engines: Engines
) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    first = await customer.send(conversation, "My parcel is late")
    assert first.names == ["message", "delta", "done"]

    doomed = home(engines, conversation)
    doomed.arm_fault("crash", after_tokens=3)  # the process exits three tokens into the next answer
    continued = await customer.send(conversation, "Where is it now?")
    # Mid-stream failover: the other replica continues the answer; the customer never sees the crash.
    assert continued.names == ["message", "delta", "done"]
    assert doomed.wait_exit(timeout=scaled(10)) != 0
    stored = (await customer.messages(conversation))[-1]
    assert (stored["status"], stored["content"]) == ("complete", continued.text)  # what the customer saw is stored

    # The router drops the dead replica at the first refused connection and moves the conversation.
    recovered = await customer.send(conversation, "Hello?")
    assert recovered.names == ["message", "delta", "done"]
    again = await customer.send(conversation, "Thanks")
    assert again.names == ["message", "delta", "done"]
