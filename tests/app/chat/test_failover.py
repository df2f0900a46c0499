"""Mid-stream failover on the real path (simulator processes, the router, sessions on Postgres): a replica that
fails after the first token does not end the customer's answer; another replica continues it.

The simulator's continuation is the rest of the answer an undisturbed turn gets (same seed on every replica),
so "seamless" is asserted exactly: the customer's text equals a reference turn's, character for character.
"""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.metrics import REGISTRY
from app.enginesim.launcher import EngineSimProcess
from tests.app.chat.conftest import CHAT_MODEL, Customer, Desk, Engines, Turn, home
from tests.app.router.conftest import until

QUESTION = "Where is my order? It should have arrived yesterday."


def running(process: EngineSimProcess) -> float:
    for family in text_string_to_metric_families(process.metrics_text()):
        if family.name == "vllm:num_requests_running":
            return sum(sample.value for sample in family.samples)
    raise AssertionError("vllm:num_requests_running missing")


def failovers(reason: str, result: str) -> float:
    labels = {"model": CHAT_MODEL, "reason": reason, "result": result}
    return REGISTRY.get_sample_value("helpline_chat_failovers_total", labels) or 0.0


async def reference_answer(desk: Desk) -> Turn:
    """The answer a first turn with ``QUESTION`` gets when nothing fails (any replica: they share a seed)."""
    customer = desk.customer()
    turn = await customer.send(await customer.conversation(), QUESTION)
    assert turn.names == ["message", "delta", "done"]
    return turn


async def assert_seamless(customer: Customer, conversation: str, turn: Turn, reference: Turn) -> dict[str, Any]:
    """One complete answer, equal to the reference, stored once as the customer saw it."""
    assert turn.status == 200
    assert turn.names == ["message", "delta", "done"]
    assert turn.text == reference.text
    stored = await customer.messages(conversation)
    assert [message["role"] for message in stored] == ["customer", "assistant"]
    answer = stored[-1]
    assert (answer["status"], answer["content"]) == ("complete", turn.text)
    assert turn.named("done")[0]["message"]["content"] == turn.text
    return answer


async def test_an_error_mid_answer_continues_on_the_other_replica(desk: Desk, engines: Engines) -> None:
    reference = await reference_answer(desk)
    customer = desk.customer()
    conversation = await customer.conversation()
    home(engines, conversation).arm_fault("error", after_tokens=3)
    continued_before = failovers("broken", "continued")
    turn = await customer.send(conversation, QUESTION)
    answer = await assert_seamless(customer, conversation, turn, reference)
    assert failovers("broken", "continued") == continued_before + 1
    # usage is the work done: the same completion tokens as the reference, the prompt sent twice (plus the partial)
    usage, reference_usage = answer["usage"], reference.named("done")[0]["message"]["usage"]
    assert usage["completion_tokens"] == reference_usage["completion_tokens"]
    assert usage["prompt_tokens"] > 2 * reference_usage["prompt_tokens"]


@pytest.mark.parametrize("chat_options", [{"engine_stall_seconds": 0.5}])
async def test_a_replica_stalled_mid_answer_is_left_for_another(desk: Desk, engines: Engines) -> None:
    reference = await reference_answer(desk)
    customer = desk.customer()
    conversation = await customer.conversation()
    stalled = home(engines, conversation)
    stalled.arm_fault("hang", after_tokens=4)
    continued_before = failovers("stalled", "continued")
    turn = await customer.send(conversation, QUESTION)
    await assert_seamless(customer, conversation, turn, reference)
    assert failovers("stalled", "continued") == continued_before + 1
    # chat closed the stalled stream: the replica aborts the generation and frees its slot
    await until(lambda: running(stalled) == 0)


async def test_with_no_replica_left_the_partial_answer_is_kept(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    serving = home(engines, conversation)
    serving.arm_fault("error", after_tokens=3)
    serving.arm_fault("error", after_tokens=0, count=None)  # then it refuses every request (the continuation too)
    for process in engines.chat:
        if process is not serving:
            # refuses every request; not "dead", which ends the session's shared process (vLLM 0.32 exits)
            process.arm_fault("error", after_tokens=0, count=None)
    failed_before = failovers("broken", "failed")
    turn = await customer.send(conversation, QUESTION)
    assert turn.names == ["message", "delta", "error"]
    assert turn.named("error")[0]["problem"]["type"] == "/problems/engine-error"
    stored = (await customer.messages(conversation))[-1]
    assert (stored["status"], stored["content"]) == ("partial", turn.text)
    assert turn.text
    assert failovers("broken", "failed") == failed_before + 1


@pytest.mark.parametrize("chat_options", [{"engine_failovers": 1}])
async def test_failovers_are_bounded_per_answer(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    for process in engines.chat:
        process.arm_fault("error", after_tokens=2, count=None)  # every replica breaks every answer
    exhausted_before = failovers("broken", "exhausted")
    turn = await customer.send(conversation, QUESTION)
    assert turn.names == ["message", "delta", "error"]
    stored = (await customer.messages(conversation))[-1]
    assert (stored["status"], stored["content"]) == ("partial", turn.text)
    assert failovers("broken", "exhausted") == exhausted_before + 1
