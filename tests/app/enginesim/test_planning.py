"""From request to plan: vLLM's validation order and messages, and what decides the text."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.enginesim.config import SimConfig
from app.enginesim.errors import APIError
from app.enginesim.planning import answer_rng, plan_chat, plan_completion
from app.enginesim.protocol import ChatCompletionRequest, CompletionRequest

CONFIG = SimConfig(model="m", served_model_names=("m",), max_model_len=256, output_tokens=30)


def chat(**body: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": "Where is my order?"}]} | body
    )


def refused(request: ChatCompletionRequest | CompletionRequest, config: SimConfig = CONFIG) -> APIError:
    def plan() -> None:
        if isinstance(request, ChatCompletionRequest):
            plan_chat(request, config)
        else:
            plan_completion(request, config)

    with pytest.raises(APIError) as raised:
        plan()
    return raised.value


def test_prompt_tokens_include_the_chat_template() -> None:
    plan = plan_chat(chat(), CONFIG)
    assert plan.prompt_tokens[0] == "<|im_start|>"
    assert "".join(plan.prompt_tokens).endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"n": 3}, "n", "n must be 1, got 3"),
        ({"temperature": -0.5}, "temperature", "temperature must be non-negative, got -0.5."),
        ({"top_p": 1.5}, "top_p", "top_p must be in (0, 1], got 1.5."),
        ({"max_tokens": 0}, "max_tokens", "max_tokens must be at least 1, got 0."),
        ({"min_tokens": -1}, "min_tokens", "min_tokens must be greater than or equal to 0, got -1."),
        ({"max_tokens": 5, "min_tokens": 6}, "min_tokens", "min_tokens must be less than or equal to max_tokens=5"),
    ],
)
def test_sampling_parameters_are_checked_with_vllms_messages(body: dict[str, Any], param: str, message: str) -> None:
    error = refused(chat(**body))
    assert error.status == 400
    assert error.param == param
    assert message in error.message


def test_context_length_is_checked_before_sampling_parameters() -> None:
    error = refused(chat(max_tokens=300, temperature=-1))
    assert error.param == "max_tokens"
    assert error.message.startswith("max_tokens=300 cannot be greater than max_model_len=256.")


def test_max_tokens_past_what_the_prompt_leaves_is_clamped() -> None:
    plan = plan_chat(chat(max_tokens=250, ignore_eos=True), CONFIG)
    assert len(plan.prompt_tokens) + len(plan.completion.tokens) == CONFIG.max_model_len


def test_prompt_alone_may_overflow() -> None:
    error = refused(chat(messages=[{"role": "user", "content": "word " * 300}]))
    assert error.param == "input_tokens"
    assert "which exceeds this limit even without any output tokens" in error.message


def test_a_prompt_filling_the_context_leaves_max_tokens_0() -> None:
    error = refused(CompletionRequest.model_validate({"prompt": list(range(256))}))
    assert error.param == "max_tokens"
    assert error.message == "max_tokens must be at least 1, got 0. (parameter=max_tokens, value=0)"


def test_a_text_too_long_for_any_tokenizer_is_refused_before_tokenizing() -> None:
    error = refused(chat(messages=[{"role": "user", "content": "x" * (13 * 256 + 1)}]))
    assert error.param == "input_text"


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    plan = plan_chat(chat(max_tokens=100, max_completion_tokens=4, ignore_eos=True), CONFIG)
    assert len(plan.completion.tokens) == 4


def test_without_max_tokens_the_limit_is_the_rest_of_the_context() -> None:
    plan = plan_chat(chat(ignore_eos=True), CONFIG)
    assert len(plan.prompt_tokens) + len(plan.completion.tokens) == CONFIG.max_model_len


def test_text_depends_on_engine_seed_request_seed_and_prompt() -> None:
    def text(config: SimConfig = CONFIG, **body: Any) -> str:
        return plan_chat(chat(**body), config).completion.text

    def engine(seed: int) -> SimConfig:
        return SimConfig(model="m", served_model_names=("m",), max_model_len=256, output_tokens=30, seed=seed)

    assert text(seed=1) == text(seed=1)
    assert len({text(seed=seed) for seed in range(5)}) > 1
    assert text(temperature=0, seed=1) == text(temperature=0, seed=2), "greedy decoding ignores the seed"
    assert len({text(engine(seed), seed=1) for seed in range(5)}) > 1, "--sim-seed changes the answers"
    assert text(engine(3), seed=1) == text(engine(3), seed=1)


def test_answer_rng_draws_from_all_three_inputs() -> None:
    draws = {
        answer_rng(engine_seed, chat(seed=request_seed), prompt).random()
        for engine_seed in (0, 1)
        for request_seed in (0, 1)
        for prompt in ("a", "b")
    }
    assert len(draws) == 8


def test_response_format_json_schema_and_json_object() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    plan = plan_chat(
        chat(response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}), CONFIG
    )
    assert plan.completion.text == '{"ok":false}'
    assert plan_chat(chat(response_format={"type": "json_object"}), CONFIG).completion.text == "{}"
    assert plan_chat(chat(response_format={"type": "text"}), CONFIG).completion.text != "{}"


def test_structured_json_classifies_the_last_user_message() -> None:
    schema = {
        "type": "object",
        "properties": {"intent": {"enum": ["question", "human_request"]}, "emotion": {"enum": ["neutral", "angry"]}},
        "required": ["intent", "emotion"],
    }
    messages = [
        {"role": "system", "content": "Classify."},
        {"role": "user", "content": "This is ridiculous, let me talk to a human!!!"},
    ]
    for structured in ({"json": schema}, {"json": orjson.dumps(schema).decode()}):
        plan = plan_chat(chat(messages=messages, temperature=0, structured_outputs=structured), CONFIG)
        assert orjson.loads(plan.completion.text) == {"intent": "human_request", "emotion": "angry"}
        assert plan.completion.finish_reason == "stop"


@pytest.mark.parametrize(
    ("structured", "message"),
    [
        ({"choice": []}, "must not be empty"),
        ({"choice": ["a"], "regex": "a+"}, "only use one kind of constraints"),
        ({"regex": "[a-z]+"}, "cannot generate text for regex"),
        ({"json": "{not json"}, "is not valid JSON"),
    ],
)
def test_structured_outputs_the_simulator_cannot_honour_are_refused(structured: dict[str, Any], message: str) -> None:
    assert message in refused(chat(structured_outputs=structured)).message


def test_text_content_parts_are_joined_and_images_refused() -> None:
    parts = [{"type": "text", "text": "Where is"}, {"type": "text", "text": "my order?"}]
    plan = plan_chat(chat(messages=[{"role": "user", "content": parts}]), CONFIG)
    assert "Where is\nmy order?" in "".join(plan.prompt_tokens)
    image = [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]
    assert "text-only model" in refused(chat(messages=[{"role": "user", "content": image}])).message


@pytest.mark.parametrize(
    ("prompt", "prompt_tokens"),
    [("Hello there", 4), (["Hello there"], 4), ([5, 6, 7], 3), ([[5, 6, 7, 8]], 4)],
)
def test_completion_prompts(prompt: Any, prompt_tokens: int) -> None:
    plan = plan_completion(CompletionRequest.model_validate({"prompt": prompt}), CONFIG)
    assert len(plan.prompt_tokens) == prompt_tokens
    assert len(plan.completion.tokens) <= 16, "the completions default max_tokens"


def test_batched_completion_prompts_are_refused() -> None:
    error = refused(CompletionRequest.model_validate({"prompt": ["one", "two"]}))
    assert error.param == "prompt"


def test_a_continuation_is_the_rest_of_the_answer_the_request_would_have_got() -> None:
    whole = plan_chat(chat(max_tokens=200), CONFIG).completion
    assert whole.finish_reason == "stop"
    for cut in (1, 5, len(whole.tokens) - 2):
        partial = "".join(whole.tokens[:cut])
        continued = plan_chat(
            chat(
                messages=[
                    {"role": "user", "content": "Where is my order?"},
                    {"role": "assistant", "content": partial},
                ],
                continue_final_message=True,
                add_generation_prompt=False,
                max_tokens=200 - cut,
            ),
            CONFIG,
        )
        assert partial + continued.completion.text == whole.text
        assert continued.completion.finish_reason == "stop"
        # the open assistant message is in the prompt, without its end token
        assert "".join(continued.prompt_tokens).endswith(f"<|im_start|>assistant\n{partial}")


def test_a_partial_answer_that_is_not_the_models_own_gets_a_fresh_continuation() -> None:
    continued = plan_chat(
        chat(
            messages=[{"role": "user", "content": "Where is my order?"}, {"role": "assistant", "content": "Bonjour"}],
            continue_final_message=True,
            add_generation_prompt=False,
        ),
        CONFIG,
    )
    assert continued.completion.tokens


def test_continuing_and_a_generation_prompt_together_are_refused_like_vllm() -> None:
    error = refused(chat(continue_final_message=True, add_generation_prompt=True))
    assert error.status == 400
    assert "Cannot set both `continue_final_message` and `add_generation_prompt` to True." in error.message
