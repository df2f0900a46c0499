"""The whole customer path on a real vLLM: gateway -> chat -> router -> the session's vLLM server (``real_vllm``).

The chat model and the classifier are both the tiny model (random weights: the text is noise, the protocol is
what is checked): streamed deltas, the usage chunk recorded on the answer, the classifier's structured output
(a JSON object under ``structured_outputs.json``, whitespace-padded ones included), and the engine core killed
mid-stream: vLLM sends its error in band, the API server exits, and the next turn gets the "everything down" reply.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from app.chat.degraded_answers import EVERYTHING_DOWN_TEXT
from app.chat.engine import EngineClient
from app.chat.escalation import CLASSIFIER_SCHEMA
from app.chat.settings import ChatSettings
from app.chat.turns import CLASSIFY_INSTRUCTION
from app.core.sse import SSEParser
from app.core.waits import scaled
from app.devrun.launcher import LocalRun
from tests.e2e.stack import Customer, Turn, event_order_ok, metric_value, running_stack
from tests.support.vllm_fixtures import RealVllm

pytestmark = pytest.mark.e2e


#: A question `make run`'s demo help centre covers: answering it needs a model.
STILL_THERE = "Where can I download my invoice?"


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, real_vllm: RealVllm) -> Iterator[LocalRun]:
    env = {
        "VLLM_BASE_URL": real_vllm.base_url,
        "VLLM_API_KEY": real_vllm.api_key or "",
        # The first structured-output request compiles its grammar: seconds on a busy CPU, past chat's 3 s default.
        "HELPLINE_CLASSIFIER_TIMEOUT_SECONDS": str(scaled(60)),
        # Random weights rarely say "stop": keep answers short enough for a loaded 2-core machine.
        "HELPLINE_DEFAULT_MAX_TOKENS": "128",
    }
    yield from running_stack(tmp_path_factory.mktemp("real-engine"), env=env)


@pytest.fixture
async def http(local_run: LocalRun) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local_run.info.gateway_url, timeout=scaled(60)) as client:
        yield client


def engine_metric(real_vllm: RealVllm, name: str) -> float:
    return metric_value(httpx.get(f"{real_vllm.base_url}/metrics", timeout=30).text, name)


def chat_metric(local_run: LocalRun, name: str, **labels: str) -> float:
    """One series of the chat service's metrics (0 when it has no sample yet)."""
    text = httpx.get(f"{local_run.info.url('chat')}/metrics", timeout=30).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_a_conversation_streams_from_the_real_engine(
    http: httpx.AsyncClient, local_run: LocalRun, real_vllm: RealVllm
) -> None:
    info = local_run.info
    assert info["models"]["chat"] == real_vllm.model
    assert info["models"]["classifier"] == real_vllm.model
    assert info["models"]["max_model_len"] == real_vllm.max_model_len
    customer = Customer(http, info.api_key)
    conversation = await customer.new_conversation()
    generated_before = engine_metric(real_vllm, "vllm:generation_tokens_total")
    classified_before = chat_metric(local_run, "helpline_engine_requests_total", outcome="ok")
    turn = await customer.stream_turn(conversation, "Hello, where is my order? It should have arrived yesterday.")
    assert turn.status == 200
    assert event_order_ok(turn.names, "done"), turn.names
    done = turn.last("done")["message"]
    assert done["status"] == "complete"
    # The usage chunk (stream_options.include_usage) is what the answer is charged from.
    usage = done["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert engine_metric(real_vllm, "vllm:generation_tokens_total") >= generated_before + usage["completion_tokens"]
    stored = (await customer.messages(conversation))[-1]
    assert (stored["role"], stored["content"], stored["usage"]) == ("assistant", turn.text, usage)
    # The answer and the classifier's structured-output call both reached vLLM and were answered.
    assert chat_metric(local_run, "helpline_engine_requests_total", outcome="ok") >= classified_before + 2


async def test_the_classifier_call_is_answered_by_the_real_engine(real_vllm: RealVllm) -> None:
    """The chat service's own classify call (schema, instruction, token limit) against the real engine: vLLM
    accepts the structured-output request and answers it. The tiny model's weights are random, so its object may
    be cut inside a value at the token limit: classify then returns no labels (never raises); a padded object cut
    before its brace is closed (tests/app/chat/test_engine_client.py)."""
    settings = ChatSettings(
        engine_url=real_vllm.v1_url,
        engine_api_key=SecretStr(real_vllm.api_key or "EMPTY"),
        classifier_timeout_seconds=scaled(60),
    )
    client = EngineClient(settings)
    try:
        document, usage = await client.classify(
            real_vllm.model, CLASSIFY_INSTRUCTION, "I want to talk to a human agent right now.", CLASSIFIER_SCHEMA
        )
    finally:
        await client.aclose()
    assert usage is not None, "the structured-output request was refused or timed out"
    assert usage["completion_tokens"] > 0
    assert document is None or set(document) <= set(CLASSIFIER_SCHEMA["properties"])


@pytest.mark.kills_real_vllm
async def test_the_engine_core_killed_mid_stream(
    http: httpx.AsyncClient, local_run: LocalRun, real_vllm: RealVllm
) -> None:
    """vLLM 0.32 when its engine core dies: the stream in flight gets the error in band, the API server exits.
    The customer keeps what was streamed (stored as partial), and the next turn is the ladder's clear
    "everything down" reply, not a hang."""
    server = real_vllm.server
    if server is None:
        pytest.skip("the engine was started outside the suite (VLLM_CONTRACT_BASE_URL): not ours to kill")
    customer = Customer(http, local_run.info.api_key)
    conversation = await customer.new_conversation()
    parser = SSEParser()
    turn = Turn(0, [])
    killed = False
    async with http.stream(
        "POST",
        f"/v1/conversations/{conversation}/messages",
        json={"content": "Please tell me everything about my invoice and the charges on my account."},
        headers={**customer.headers, "Accept": "text/event-stream"},
    ) as response:
        turn = Turn(response.status_code, [])
        async for chunk in response.aiter_raw():
            turn.events.extend(parser.feed(chunk))
            if not killed and "delta" in turn.names:
                for pid in server.engine_core_pids():  # the engine core: a child of the server we started
                    os.kill(pid, signal.SIGKILL)
                killed = True
    assert killed, f"the answer ended before it could be interrupted: {turn.names}"
    stored = (await customer.messages(conversation))[-1]
    if event_order_ok(turn.names, "done"):
        # On an idle machine the tiny model can finish its (capped) answer before the kill lands: the answer the
        # customer saw is then complete and stored as such; the exit and the next turn below still hold.
        assert (stored["role"], stored["status"], stored["content"]) == ("assistant", "complete", turn.text)
    else:
        assert event_order_ok(turn.names, "error"), turn.names
        problem = turn.last("error")["problem"]
        assert problem["type"] == "/problems/engine-error"
        assert problem["request_id"]
        assert (stored["role"], stored["status"], stored["content"]) == ("assistant", "partial", turn.text)
    # The API server follows its engine core: it exits instead of answering /health.
    assert server.wait_exit(scaled(60)) is not None
    # Router on engine exit: the only replica is gone, and the fallback (the classifier) is the same dead server:
    # the degradation ladder's last rung. The next turn is answered at once with the message-taken reply (stored,
    # the conversation waiting for a person), not a hang or a bare error. The question is one the demo help centre
    # covers, so the answer needs the model (a greeting gets the help centre's "cannot answer" without any model).
    after = await customer.stream_turn(conversation, STILL_THERE)
    assert after.status in (200, 503), after
    if after.status == 200:
        assert event_order_ok(after.names, "done"), after.names
        assert after.last("done")["message"]["degradation"] == "everything_down"
        assert after.text == EVERYTHING_DOWN_TEXT
