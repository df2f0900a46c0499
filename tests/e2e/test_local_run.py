"""End to end: every process started as ``make run`` starts them, then whole conversations over real HTTP.

One stack for the module (simulators, router, auth, sessions, chat, gateway on the embedded defaults); the
module ends with Ctrl-C, which must stop everything with status 0 (see ``tests/e2e/stack.py``).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.devrun.demo import README_KEY, curl_session
from app.devrun.launcher import LocalRun
from tests.e2e.stack import Customer, event_order_ok, metric_value, running_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHAT_ENGINES = ("chat-engine-1", "chat-engine-2")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    yield from running_stack(tmp_path_factory.mktemp("e2e-run"))


@pytest.fixture
async def http(local_run: LocalRun) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local_run.info.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def admin(http: httpx.AsyncClient, local_run: LocalRun) -> Customer:
    """The demo tenant's bootstrap API key (every scope)."""
    return Customer(http, local_run.info.api_key)


async def widget_customer(http: httpx.AsyncClient, admin: Customer, end_user: str) -> Customer:
    """An end user of the web chat, with the token the embedding company's backend would mint for them."""
    token = await admin.call("POST", "/v1/widget-tokens", json={"end_user_id": end_user, "ttl_seconds": 600})
    return Customer(http, token["access_token"])


async def generated_tokens(http: httpx.AsyncClient, engine_url: str) -> float:
    """``vllm:generation_tokens_total`` of one engine (which replica served a turn)."""
    return metric_value((await http.get(f"{engine_url}/metrics")).text, "vllm:generation_tokens_total")


async def generation_by_engine(http: httpx.AsyncClient, run: LocalRun) -> dict[str, float]:
    return {name: await generated_tokens(http, run.info.url(name)) for name in CHAT_ENGINES}


# --- the README's curl session ---------------------------------------------------------------------------------
def test_the_printed_curl_session_streams_an_answer(local_run: LocalRun) -> None:
    script = curl_session(local_run.info.gateway_url, local_run.info.api_key)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    events = re.findall(r"^event: (\w+)$", result.stdout, re.MULTILINE)
    assert events[0] == "message"
    assert events.count("delta") > 5  # streamed token by token
    assert events[-1] == "done"


def test_the_readme_shows_the_same_curl_session() -> None:
    readme = (ROOT / "README.md").read_text()
    for line in curl_session("http://127.0.0.1:8080", README_KEY).splitlines():
        assert line.strip() in readme


# --- a whole conversation ---------------------------------------------------------------------------------------
async def test_a_whole_conversation_from_the_first_message_to_an_agent(
    http: httpx.AsyncClient, admin: Customer, local_run: LocalRun
) -> None:
    customer = await widget_customer(http, admin, f"e2e-{secrets.token_hex(4)}")
    conversation = await customer.new_conversation()

    # streamed answer: message, deltas, done; the stored answer is exactly what streamed
    first = await customer.stream_turn(conversation, "Hi, my parcel has not arrived yet. Can you help?")
    assert first.status == 200
    assert event_order_ok(first.names, "done"), first.names
    done = first.last("done")
    assert done["message"]["content"] == first.text
    assert done["message"]["status"] == "complete"
    assert done["message"]["usage"]["completion_tokens"] > 0

    # the JSON form, retried with the same Idempotency-Key: the original result, no second answer
    key = {"Idempotency-Key": f"e2e-{secrets.token_hex(8)}"}
    body = {"content": "It was order 12345, sent last Monday."}
    path = f"/v1/conversations/{conversation}/messages"
    answer = await customer.call("POST", path, json=body, headers=key)
    replay = await customer.call("POST", path, json=body, headers=key)
    assert replay["reply"]["id"] == answer["reply"]["id"]
    assert answer["reply"]["content"]
    history = await customer.messages(conversation)
    assert [message["role"] for message in history] == ["customer", "assistant", "customer", "assistant"]

    # feedback on an answer: created, then replaced
    reply_id = done["message"]["id"]
    feedback_path = f"/v1/conversations/{conversation}/messages/{reply_id}/feedback"
    await customer.call("POST", feedback_path, json={"rating": "up"}, expect=201)
    replaced = await customer.call("POST", feedback_path, json={"rating": "down", "comment": "Too vague"}, expect=200)
    assert replaced["rating"] == "down"

    # another end user of the same tenant cannot see it (404, not 403)
    stranger = await widget_customer(http, admin, f"e2e-{secrets.token_hex(4)}")
    problem = await stranger.call("GET", f"/v1/conversations/{conversation}", expect=404)
    assert problem["request_id"]

    # ask for a human: messages are stored, not answered by the model
    waiting = await customer.call("POST", f"/v1/conversations/{conversation}/handoff", json={"reason": "e2e"})
    assert waiting["status"] == "waiting_human"
    held = await customer.stream_turn(conversation, "Thanks, I will wait for a person.")
    assert held.names == ["message", "done"]
    assert held.last("done")["message"] is None

    # an agent (the demo admin) logs in, claims, replies and resolves
    login = {"tenant": local_run.info["tenant"], "email": local_run.info["admin_email"]}
    login["password"] = local_run.info["admin_password"]
    token = (await http.post("/v1/auth/token", json=login)).raise_for_status().json()["access_token"]
    agent = Customer(http, token)
    queue = await agent.call("GET", "/v1/agent/conversations?status=waiting_human")
    assert conversation in [item["id"] for item in queue["items"]]
    claimed = await agent.call("POST", f"/v1/agent/conversations/{conversation}/claim")
    assert claimed["status"] == "with_agent"
    await agent.call(
        "POST", f"/v1/agent/conversations/{conversation}/messages", json={"content": "Hello, I am on it."}, expect=201
    )
    seen = await customer.messages(conversation)
    assert [message["content"] for message in seen if message["role"] == "agent"] == ["Hello, I am on it."]
    resolved = await agent.call("POST", f"/v1/agent/conversations/{conversation}/resolve")
    assert resolved["status"] == "resolved"

    closed = await customer.call("POST", path, json={"content": "One more thing"}, expect=409)
    assert closed["type"] == "/problems/conversation-closed"
    assert closed["request_id"]


# --- an engine crash mid-stream ---------------------------------------------------------------------------------
async def test_an_engine_crash_mid_stream_is_continued_on_the_other_replica(
    http: httpx.AsyncClient, admin: Customer, local_run: LocalRun
) -> None:
    conversation = await admin.new_conversation()
    before = await generation_by_engine(http, local_run)
    warm = await admin.stream_turn(conversation, "Hello, where can I download my invoice from March?")
    assert event_order_ok(warm.names, "done")
    after = await generation_by_engine(http, local_run)
    serving = next(name for name in CHAT_ENGINES if after[name] > before[name])  # the conversation's replica
    healthy = next(name for name in CHAT_ENGINES if name != serving)
    crashed_pid = local_run.info.pid(serving)

    control = {"Authorization": f"Bearer {local_run.info['sim_control_token']}"}
    armed = await http.post(
        f"{local_run.info.url(serving)}/sim/faults", json={"kind": "crash", "after_tokens": 5}, headers=control
    )
    assert armed.status_code in (200, 201), armed.text

    # the replica dies after 5 tokens: chat continues the answer on the other replica, the customer sees one answer
    healthy_before = await generated_tokens(http, local_run.info.url(healthy))
    continued = await admin.stream_turn(conversation, "My card payment was declined at checkout, why?")
    assert continued.status == 200
    assert event_order_ok(continued.names, "done"), continued.names
    assert await generated_tokens(http, local_run.info.url(healthy)) > healthy_before
    stored = (await admin.messages(conversation))[-1]
    assert (stored["role"], stored["status"]) == ("assistant", "complete")
    assert stored["content"] == continued.text
    assert continued.last("done")["message"]["content"] == continued.text

    # the next turn is answered in full: by the healthy replica, or by the crashed one if the supervisor has
    # already brought it back (the router then returns the conversation to its home replica)
    recovered = await admin.stream_turn(conversation, "Are you still there?")
    assert event_order_ok(recovered.names, "done"), recovered.names
    assert recovered.last("done")["message"]["status"] == "complete"
    assert recovered.last("done")["message"]["content"] == recovered.text

    # and the supervisor restarted the crashed replica, as a kubelet would
    deadline = time.monotonic() + 60
    while local_run.reload_info().pid(serving) == crashed_pid:
        assert time.monotonic() < deadline, "the crashed engine was not restarted"
        await asyncio.sleep(0.2)
    assert (await http.get(f"{local_run.info.url(serving)}/health")).status_code == 200
    assert f"{serving} exited with status 1; restarting (1/3)" in local_run.log_text()


async def test_the_web_chat_page_and_the_api_docs_are_served(http: httpx.AsyncClient) -> None:
    page = await http.get("/chat")
    assert (await http.get("/docs")).status_code == 200
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (await http.get("/openapi.json")).json()["info"]["title"] == "Helpline API"
    assert (await http.get("/readyz")).json()["status"] == "ready"


async def test_the_openai_client_lists_the_public_model_and_uses_it(local_run: LocalRun) -> None:
    client = openai.AsyncOpenAI(base_url=f"{local_run.info.gateway_url}/v1", api_key=local_run.info.api_key)
    try:
        models = [model.id async for model in client.models.list()]
        assert models == ["helpline-chat"]  # the same name a cluster serves, whatever its engine's own name
        completion = await client.chat.completions.create(
            model=models[0], messages=[{"role": "user", "content": "Hello"}], max_tokens=8
        )
        assert completion.model == "helpline-chat"
        assert completion.choices[0].message.content
    finally:
        await client.close()


async def test_a_caller_lists_its_own_conversations(http: httpx.AsyncClient, admin: Customer) -> None:
    end_user = f"lister-{secrets.token_hex(4)}"
    visitor = await widget_customer(http, admin, end_user)
    mine = [await visitor.new_conversation() for _ in range(2)]
    await (await widget_customer(http, admin, f"other-{secrets.token_hex(4)}")).new_conversation()
    page = await visitor.call("GET", "/v1/conversations", params={"limit": 1})
    rest = await visitor.call("GET", "/v1/conversations", params={"cursor": page["next_cursor"]})
    assert [item["id"] for item in page["items"] + rest["items"]] == mine[::-1]
