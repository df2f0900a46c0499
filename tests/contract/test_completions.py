"""/v1/completions: the text endpoint, streamed and not."""

from __future__ import annotations

import pytest

from tests.contract.support import Target, chunks


def test_completion_shape_and_default_max_tokens(target: Target) -> None:
    completion = target.openai.completions.create(
        model=target.model, prompt="Customer: my parcel is late.\nAgent:", extra_body={"ignore_eos": True}
    )
    assert completion.id.startswith("cmpl-")
    assert completion.object == "text_completion"
    assert completion.model == target.model
    (choice,) = completion.choices
    assert choice.text
    assert choice.finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 16, "vLLM keeps OpenAI's default max_tokens of 16"


def test_streamed_completion(target: Target) -> None:
    events = target.stream(
        "/v1/completions",
        {
            "model": target.model,
            "prompt": "Customer: hello\nAgent:",
            "max_tokens": 5,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    data = list(chunks(events))
    assert all(chunk["object"] == "text_completion" for chunk in data)
    assert all(chunk["id"].startswith("cmpl-") for chunk in data)
    assert data[-1]["choices"] == []
    assert data[-1]["usage"]["completion_tokens"] == 5
    assert data[-2]["choices"][0]["finish_reason"] == "length"
    assert "".join(chunk["choices"][0]["text"] for chunk in data[:-1])


def test_token_id_prompts_are_accepted(target: Target) -> None:
    response = target.post("/v1/completions", {"model": target.model, "prompt": [1, 2, 3, 4], "max_tokens": 2})
    assert response.status_code == 200
    assert response.json()["usage"]["prompt_tokens"] == 4


def test_context_overflow(target: Target, max_model_len: int) -> None:
    response = target.post("/v1/completions", {"model": target.model, "prompt": "hi", "max_tokens": max_model_len})
    assert response.status_code == 400
    assert f"maximum context length is {max_model_len} tokens" in response.json()["error"]["message"]


@pytest.mark.simulator_only
def test_empty_prompt_is_400(target: Target) -> None:
    response = target.post("/v1/completions", {"model": target.model, "prompt": ""})
    assert response.status_code == 400
