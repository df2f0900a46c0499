"""/v1/chat/completions without streaming: shape, usage, limits, structured outputs."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.contract.support import Target, assert_error_body

QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Hello, where is my order? It should have arrived yesterday."}
]


def test_response_shape(target: Target) -> None:
    completion = target.openai.chat.completions.create(model=target.model, messages=QUESTION, max_tokens=40)
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == target.model
    assert isinstance(completion.created, int)
    (choice,) = completion.choices
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert 0 < usage.completion_tokens <= 40
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_raw_body_carries_vllms_fields(target: Target) -> None:
    body = target.chat(messages=QUESTION, max_tokens=5)
    choice = body["choices"][0]
    assert set(body) >= {"id", "object", "created", "model", "choices", "usage"}
    assert "stop_reason" in choice
    assert set(body["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}


@pytest.mark.parametrize("limit_field", ["max_tokens", "max_completion_tokens"])
def test_token_limit_gives_finish_reason_length(target: Target, limit_field: str) -> None:
    body = target.chat(messages=QUESTION, ignore_eos=True, **{limit_field: 7})
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7


def test_model_may_be_omitted(target: Target) -> None:
    response = target.post("/v1/chat/completions", {"messages": QUESTION, "max_tokens": 3})
    assert response.status_code == 200
    assert response.json()["model"] == target.model


def test_unknown_fields_are_ignored(target: Target) -> None:
    body = target.chat(messages=QUESTION, max_tokens=3, guided_choice=["a", "b"], some_vendor_field={"x": 1})
    assert body["choices"][0]["message"]["content"]


def test_structured_output_choice_is_one_of_the_choices(target: Target) -> None:
    choices = ["question", "complaint", "human_request"]
    completion = target.openai.chat.completions.create(
        model=target.model,
        messages=[{"role": "user", "content": "I want to talk to a human agent right now."}],
        max_tokens=32,  # room for the longest choice in any byte-level tokenizer (one token per byte at worst)
        temperature=0,
        extra_body={"structured_outputs": {"choice": choices}},
    )
    assert completion.choices[0].message.content in choices
    assert completion.choices[0].finish_reason == "stop"


@pytest.mark.simulator_only
@pytest.mark.parametrize(
    ("message", "choices", "expected"),
    [
        ("Get me a real person, now.", ["question", "complaint", "human_request"], "human_request"),
        ("This is ridiculous, the worst service ever!!!", ["neutral", "happy", "angry"], "angry"),
        ("What time do you open?", ["neutral", "happy", "angry"], "neutral"),
    ],
)
def test_simulated_classifier_picks_meaningfully(
    target: Target, message: str, choices: list[str], expected: str
) -> None:
    body = target.chat(
        messages=[{"role": "system", "content": "Classify."}, {"role": "user", "content": message}],
        structured_outputs={"choice": choices},
    )
    assert body["choices"][0]["message"]["content"] == expected


@pytest.mark.simulator_only
def test_simulated_classifier_fills_json_enums_meaningfully(target: Target) -> None:
    schema = {
        "type": "object",
        "properties": {
            "intent": {"enum": ["question", "complaint", "human_request"]},
            "emotion": {"enum": ["neutral", "happy", "angry"]},
        },
        "required": ["intent", "emotion"],
        "additionalProperties": False,
    }
    body = target.chat(
        messages=[
            {"role": "system", "content": "Classify."},
            {"role": "user", "content": "This is ridiculous, get me a real person!!!"},
        ],
        temperature=0,
        structured_outputs={"json": schema},
    )
    assert json.loads(body["choices"][0]["message"]["content"]) == {"intent": "human_request", "emotion": "angry"}
    assert body["choices"][0]["finish_reason"] == "stop"


def test_structured_output_json_schema(target: Target) -> None:
    schema = {"type": "object", "properties": {"intent": {"enum": ["billing", "other"]}}, "required": ["intent"]}
    body = target.chat(messages=QUESTION, max_tokens=50, structured_outputs={"json": schema})
    assert json.loads(body["choices"][0]["message"]["content"])["intent"] in ("billing", "other")


@pytest.mark.simulator_only
def test_same_seed_same_answer(target: Target) -> None:
    first = target.chat(messages=QUESTION, seed=42, temperature=0.8, max_tokens=30)
    second = target.chat(messages=QUESTION, seed=42, temperature=0.8, max_tokens=30)
    other = target.chat(messages=QUESTION, seed=43, temperature=0.8, max_tokens=30)
    text = [body["choices"][0]["message"]["content"] for body in (first, second, other)]
    assert text[0] == text[1]
    assert text[0] != text[2]


@pytest.mark.simulator_only
def test_stop_strings_end_the_answer(target: Target) -> None:
    full = target.chat(messages=QUESTION, temperature=0, max_tokens=60)["choices"][0]["message"]["content"]
    word = full.split()[3]
    body = target.chat(messages=QUESTION, temperature=0, max_tokens=60, stop=[word])
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["stop_reason"] == word
    assert choice["message"]["content"] == full[: full.index(word)]


@pytest.mark.simulator_only
def test_answer_ends_on_its_own_with_stop(target: Target) -> None:
    body = target.chat(messages=QUESTION)
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"].endswith(("?", "."))


def test_an_answer_can_be_continued_from_a_partial_assistant_message(target: Target) -> None:
    """Chat's mid-stream failover re-sends a broken answer this way: the model writes the rest of the message."""
    partial = "Thank you for"
    fresh = target.chat(messages=QUESTION, max_tokens=5)
    body = target.chat(
        messages=[*QUESTION, {"role": "assistant", "content": partial}],
        continue_final_message=True,
        add_generation_prompt=False,
        max_tokens=5,
    )
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"]  # only the continuation: the partial is not echoed
    assert not body["choices"][0]["message"]["content"].startswith(partial)
    # the partial message is part of the prompt, open-ended (one generation prompt fewer, its text more)
    assert body["usage"]["prompt_tokens"] > fresh["usage"]["prompt_tokens"]


def test_continuing_with_a_generation_prompt_is_refused(target: Target) -> None:
    response = target.post(
        "/v1/chat/completions",
        {
            "model": target.model,
            "messages": [*QUESTION, {"role": "assistant", "content": "Thank you for"}],
            "continue_final_message": True,
            "add_generation_prompt": True,
            "max_tokens": 3,
        },
    )
    assert response.status_code == 400
    error = assert_error_body(response.json(), code=400)
    assert "Cannot set both `continue_final_message` and `add_generation_prompt` to True." in error["message"]
