"""/v1/completions: the text endpoint, streamed and not."""

from __future__ import annotations

from tests.contract.support import Target, assert_error_body, chunks


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


def test_max_tokens_past_the_context_is_clamped_and_stops_there(target: Target, max_model_len: int) -> None:
    """vLLM 0.32 clamps a max_tokens that does not fit beside the prompt (0.12 refused it with a 400)."""
    prompt = [5] * (max_model_len - 8)
    response = target.post(
        "/v1/completions", {"model": target.model, "prompt": prompt, "max_tokens": 100, "ignore_eos": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 8
    assert body["usage"]["total_tokens"] == max_model_len


def test_max_tokens_above_the_whole_context_is_400(target: Target, max_model_len: int) -> None:
    response = target.post("/v1/completions", {"model": target.model, "prompt": "hi", "max_tokens": max_model_len + 1})
    assert response.status_code == 400
    error = assert_error_body(response.json(), code=400)
    assert error["param"] == "max_tokens"
    assert f"max_model_len={max_model_len}" in error["message"]


def test_a_prompt_filling_the_context_leaves_no_token(target: Target, max_model_len: int) -> None:
    response = target.post("/v1/completions", {"model": target.model, "prompt": [5] * max_model_len})
    assert response.status_code == 400
    error = assert_error_body(response.json(), code=400)
    assert error["param"] == "max_tokens"
    assert "max_tokens must be at least 1, got 0" in error["message"]


def test_empty_prompt_is_400(target: Target) -> None:
    response = target.post("/v1/completions", {"model": target.model, "prompt": ""})
    assert response.status_code == 400
    assert assert_error_body(response.json(), code=400)["param"] == "prompt"
