"""vLLM's error responses: status, body shape and the messages clients parse."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.contract.support import Target, assert_error_body

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
SENTENCE = "Please help me with my account. "


def test_max_tokens_that_does_not_fit_is_clamped_not_refused(target: Target, max_model_len: int) -> None:
    """vLLM 0.32: a chat max_tokens beyond what the prompt leaves is clamped; the answer stops at the context."""

    def prompt_tokens_of(repeats: int) -> int:
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": SENTENCE * repeats}]
        probe = target.openai.chat.completions.create(model=target.model, messages=messages, max_tokens=1)
        assert probe.usage is not None
        return probe.usage.prompt_tokens

    # Fill the context to ~90% whatever the tokenizer: measure one sentence's tokens first.
    one, two = prompt_tokens_of(1), prompt_tokens_of(2)
    repeats = (max_model_len * 9 // 10 - one) // (two - one)
    filler: list[ChatCompletionMessageParam] = [{"role": "user", "content": SENTENCE * repeats}]
    prompt_tokens = prompt_tokens_of(repeats)
    assert prompt_tokens < max_model_len
    completion = target.openai.chat.completions.create(
        model=target.model, messages=filler, max_tokens=max_model_len, extra_body={"ignore_eos": True}
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == max_model_len - prompt_tokens
    assert completion.usage.total_tokens == max_model_len


def test_prompt_over_the_context_is_400_naming_input_tokens(target: Target, max_model_len: int) -> None:
    response = target.post(
        "/v1/completions", {"model": target.model, "prompt": [5] * (max_model_len + 10), "max_tokens": 1}
    )
    assert response.status_code == 400
    error = assert_error_body(response.json(), code=400)
    assert error["param"] == "input_tokens"
    assert f"maximum context length is {max_model_len} tokens" in error["message"]
    assert f"{max_model_len + 10} input tokens" in error["message"]


def test_chat_prompt_over_the_context_is_a_400_the_openai_client_raises(target: Target, max_model_len: int) -> None:
    long_text = "Please help me with my account. " * max_model_len
    with pytest.raises(openai.BadRequestError) as raised:
        target.openai.chat.completions.create(model=target.model, messages=[{"role": "user", "content": long_text}])
    error = assert_error_body(raised.value.response.json(), code=400)
    # Past 13 characters per token of context vLLM refuses the text before tokenizing it ("input_text").
    assert error["param"] in ("input_tokens", "input_text")
    assert f"maximum context length is {max_model_len} tokens" in error["message"]


def test_unknown_model_is_404(target: Target) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        target.openai.chat.completions.create(model="no-such-model", messages=USER)
    error = assert_error_body(raised.value.response.json(), code=404)
    assert error["message"] == f"The model `no-such-model` does not exist. Valid aliases: {target.model}."
    assert error["type"] == "NotFoundError"
    assert error["param"] == "model"


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


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nothing-here"), ("GET", "/v1/chat/completions")])
def test_routing_errors_are_fastapis_detail(target: Target, method: str, path: str) -> None:
    """Unknown paths (404) and wrong methods (405) are FastAPI's ``{"detail": ...}``, not the error object."""
    response = target._http.request(method, path, headers=target.auth())
    assert response.status_code in (404, 405)
    assert response.json() == {"detail": "Not Found" if response.status_code == 404 else "Method Not Allowed"}


@pytest.mark.parametrize(
    ("body", "param"),
    [({"temperature": -1}, "temperature"), ({"top_p": 0}, "top_p"), ({"max_tokens": "many"}, "body.max_tokens")],
)
def test_refused_parameters_are_named(target: Target, body: dict[str, Any], param: str) -> None:
    response = target.post("/v1/chat/completions", {"model": target.model, "messages": USER} | body)
    assert assert_error_body(response.json(), code=400)["param"] == param


def test_never_429(target: Target) -> None:
    """vLLM queues instead of refusing: admission control belongs in front of it."""
    for _ in range(5):
        assert (
            target.post("/v1/chat/completions", {"model": target.model, "messages": USER, "max_tokens": 1}).status_code
            == 200
        )
