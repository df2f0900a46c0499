"""vLLM's error responses: status, body shape and the messages clients parse."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.contract.support import Target, assert_error_body

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


def test_context_overflow_from_max_tokens_names_the_lengths(target: Target, max_model_len: int) -> None:
    client = target.openai
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=target.model, messages=USER, max_tokens=max_model_len)
    assert raised.value.status_code == 400
    error = assert_error_body(raised.value.response.json(), code=400)
    message = error["message"]
    assert f"maximum context length is {max_model_len} tokens" in message
    assert str(max_model_len) in message
    assert "max_tokens" in message


def test_context_overflow_from_the_prompt(target: Target, max_model_len: int) -> None:
    long_text = "Please help me with my account. " * (max_model_len // 2)
    response = target.post(
        "/v1/chat/completions", {"model": target.model, "messages": [{"role": "user", "content": long_text}]}
    )
    assert response.status_code == 400
    message = assert_error_body(response.json(), code=400)["message"]
    assert f"maximum context length is {max_model_len} tokens" in message
    assert "input tokens" in message


def test_unknown_model_is_404(target: Target) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        target.openai.chat.completions.create(model="no-such-model", messages=USER)
    error = assert_error_body(raised.value.response.json(), code=404)
    assert error["message"] == "The model `no-such-model` does not exist."
    assert error["type"] == "NotFoundError"


@pytest.mark.parametrize(
    "body",
    [
        {"temperature": -1},
        {"top_p": 0},
        {"max_tokens": 0},
        {"stream_options": {"include_usage": True}},
        {"messages": "not a list"},
        {"max_tokens": "many"},
    ],
)
def test_invalid_requests_are_400(target: Target, body: dict[str, Any]) -> None:
    response = target.post("/v1/chat/completions", {"model": target.model, "messages": USER} | body)
    assert response.status_code == 400, response.text
    assert_error_body(response.json(), code=400)


def test_openai_client_raises_bad_request(target: Target) -> None:
    with pytest.raises(openai.BadRequestError):
        target.openai.chat.completions.create(model=target.model, messages=USER, temperature=-1)


def test_malformed_json_is_400(target: Target) -> None:
    response = target.post(
        "/v1/chat/completions", None, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert_error_body(response.json(), code=400)


@pytest.mark.simulator_only
def test_more_than_one_choice_is_refused(target: Target) -> None:
    response = target.post("/v1/chat/completions", {"model": target.model, "messages": USER, "n": 2})
    assert response.status_code == 400
    assert assert_error_body(response.json(), code=400)["param"] == "n"


@pytest.mark.simulator_only
def test_unknown_route_is_404_in_vllm_shape(target: Target) -> None:
    response = target.get("/v1/nothing-here", headers=target.auth())
    assert response.status_code == 404
    assert_error_body(response.json(), code=404)


def test_never_429(target: Target) -> None:
    """vLLM queues instead of refusing: admission control belongs in front of it."""
    for _ in range(5):
        assert (
            target.post("/v1/chat/completions", {"model": target.model, "messages": USER, "max_tokens": 1}).status_code
            == 200
        )
