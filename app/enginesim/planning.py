"""From a validated request to what the engine will do: the prompt's tokens and the tokens it will generate.

The checks run in vLLM's order - context length first, then sampling parameters - with vLLM's messages (as of
0.32, checked by tests/contract against the real engine), so a client sees the same 400 for the same mistake. The generated text is decided here, up front: the scheduler only
decides *when* each token comes out.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import orjson

from app.enginesim.answers import Completion, compose_answer, finish, fixed_answer, visible
from app.enginesim.config import SimConfig
from app.enginesim.errors import (
    CHARS_PER_TOKEN_BOUND,
    APIError,
    invalid_request,
    invalid_value,
    max_tokens_too_large,
    prompt_chars_too_long,
    prompt_too_long,
)
from app.enginesim.grounded import grounded_answer
from app.enginesim.protocol import (
    ChatCompletionRequest,
    ChatMessage,
    CompletionRequest,
    SamplingRequest,
    StructuredOutputs,
)
from app.enginesim.structured import pick_choice, schema_answer
from app.enginesim.tokenizer import render_chat, tokenize


@dataclass(frozen=True)
class GenerationPlan:
    prompt_tokens: list[str]
    completion: Completion


def plan_chat(request: ChatCompletionRequest, config: SimConfig) -> GenerationPlan:
    conversation = [(message.role, message_text(message)) for message in request.messages]
    continuing = request.continue_final_message
    if continuing and request.add_generation_prompt and "add_generation_prompt" in request.model_fields_set:
        raise invalid_request("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
    prompt = render_chat(
        conversation, add_generation_prompt=request.add_generation_prompt, continue_final_message=continuing
    )
    customer_text = next((text for role, text in reversed(conversation) if role == "user"), "")
    plan = _plan(
        request,
        max_tokens=request.requested_max_tokens(),
        prompt_tokens=tokenize(prompt),
        prompt_text=prompt,
        customer_text=customer_text,
        config=config,
    )
    if continuing and conversation and conversation[-1][0] == "assistant":
        return _continued(plan, request, conversation, customer_text, config)
    return plan


def _continued(
    plan: GenerationPlan,
    request: ChatCompletionRequest,
    conversation: list[tuple[str, str]],
    customer_text: str,
    config: SimConfig,
) -> GenerationPlan:
    """A continuation of a partial answer: the rest of the answer the same request without it would have got.

    That answer depends only on (engine seed, request seed, prompt without the partial answer), so every replica
    of a model computes the same one: a client that lost a replica mid-answer gets the missing tail from another,
    as a real model continuing its own greedy text would. A partial answer that is not a token-aligned prefix of
    it (another seed, an edited text) gets the freshly composed answer ``plan`` already holds.
    """
    *earlier, (_, partial) = conversation
    original_prompt = render_chat(earlier, add_generation_prompt=True)
    rng = answer_rng(config.seed, request, original_prompt)
    if request.ignore_eos or constrained_text(request, customer_text, rng) is not None:
        return plan
    whole = compose_answer(
        customer_text,
        rng,
        natural_tokens=config.output_tokens,
        limit=config.max_model_len,
        min_tokens=request.min_tokens,
    )
    generated = ""
    for index, token in enumerate(whole.tokens):
        if generated == partial:
            limit = request.requested_max_tokens() or config.max_model_len - len(plan.prompt_tokens)
            rest = finish(whole.tokens[index:], limit=limit, stop=request.stop_strings())
            return GenerationPlan(plan.prompt_tokens, rest)
        if len(generated) >= len(partial):
            break
        generated += visible(token)
    return plan


def plan_completion(request: CompletionRequest, config: SimConfig) -> GenerationPlan:
    prompt = _single_prompt(request.prompt)
    if isinstance(prompt, str):
        text, tokens = prompt, tokenize(prompt)
    else:
        text, tokens = " ".join(map(str, prompt)), [f"<{token_id}>" for token_id in prompt]
    return _plan(
        request,
        max_tokens=request.requested_max_tokens(),
        prompt_tokens=tokens,
        prompt_text=text,
        customer_text=text,
        config=config,
    )


def _single_prompt(prompt: str | list[str] | list[int] | list[list[int]]) -> str | list[int]:
    """The one prompt of a completions request: text, or token ids (vLLM also takes batches; we do not)."""
    if isinstance(prompt, str):
        if not prompt:
            raise invalid_request("Either prompt or prompt_embeds must be provided and non-empty.", param="prompt")
        return prompt
    token_ids = [item for item in prompt if isinstance(item, int)]
    if len(token_ids) == len(prompt) and token_ids:
        return token_ids
    if len(prompt) != 1:
        raise APIError(f"The engine simulator serves one prompt per request; got {len(prompt)}.", param="prompt")
    (single,) = prompt
    if isinstance(single, str):
        return _single_prompt(single)
    if isinstance(single, list):
        return [int(item) for item in single]
    raise invalid_request("prompt must be a string, a list of token ids, or a list of one of those", param="prompt")


def message_text(message: ChatMessage) -> str:
    """A message's text; text parts are joined with newlines like vLLM's chat parser does."""
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    texts: list[str] = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise APIError(
                f"The engine simulator serves a text-only model; content part type {part.type!r} is not supported.",
                param="messages",
            )
        texts.append(part.text)
    return "\n".join(texts)


def _plan(
    request: SamplingRequest,
    *,
    max_tokens: int | None,
    prompt_tokens: list[str],
    prompt_text: str,
    customer_text: str,
    config: SimConfig,
) -> GenerationPlan:
    max_tokens = fit_max_tokens(
        max_tokens, prompt_len=len(prompt_tokens), prompt_chars=len(prompt_text), max_model_len=config.max_model_len
    )
    validate_sampling(request, max_tokens)
    limit = max_tokens
    rng = answer_rng(config.seed, request, prompt_text)
    stop = request.stop_strings()
    constrained = constrained_text(request, customer_text, rng)
    if constrained is not None:
        return GenerationPlan(prompt_tokens, fixed_answer(constrained, limit=limit, stop=stop))
    grounded = grounded_answer(customer_text)
    if grounded is not None:
        return GenerationPlan(prompt_tokens, fixed_answer(grounded, limit=limit, stop=stop))
    completion = compose_answer(
        customer_text,
        rng,
        natural_tokens=config.output_tokens,
        limit=limit,
        min_tokens=request.min_tokens,
        ignore_eos=request.ignore_eos,
        stop=stop,
    )
    return GenerationPlan(prompt_tokens, completion)


def fit_max_tokens(max_tokens: int | None, *, prompt_len: int, prompt_chars: int, max_model_len: int) -> int:
    """The tokens a request may generate, with vLLM 0.32's context checks in its order.

    A prompt longer than ``13 * max_model_len`` characters is refused before tokenizing (``input_text``); a
    prompt longer than the context is refused (``input_tokens``); ``max_tokens`` above the whole context is
    refused; any other ``max_tokens`` that does not fit beside the prompt is clamped to what is left, and the
    answer stops at the context with ``finish_reason: length``. A prompt that fills the context exactly leaves 0,
    which ``validate_sampling`` refuses as vLLM does ("max_tokens must be at least 1, got 0").
    """
    if prompt_chars > max_model_len * CHARS_PER_TOKEN_BOUND:
        raise prompt_chars_too_long(max_model_len=max_model_len, prompt_chars=prompt_chars)
    if prompt_len > max_model_len:
        raise prompt_too_long(max_model_len=max_model_len, prompt_tokens=prompt_len)
    if max_tokens is not None and max_tokens > max_model_len:
        raise max_tokens_too_large(max_model_len=max_model_len, max_tokens=max_tokens)
    room = max_model_len - prompt_len
    return room if max_tokens is None else min(max_tokens, room)


def validate_sampling(request: SamplingRequest, max_tokens: int | None) -> None:
    """vLLM's SamplingParams checks (same messages), plus the simulator's one-choice limit."""
    if request.n is not None and request.n != 1:
        raise APIError(
            f"The engine simulator generates one choice per request: n must be 1, got {request.n}.", param="n"
        )
    if request.temperature is not None and request.temperature < 0:
        raise invalid_value(
            f"temperature must be non-negative, got {request.temperature}.",
            param="temperature",
            value=request.temperature,
        )
    if request.top_p is not None and not 0 < request.top_p <= 1:
        raise invalid_value(f"top_p must be in (0, 1], got {request.top_p}.", param="top_p", value=request.top_p)
    if max_tokens is not None and max_tokens < 1:
        raise invalid_value(f"max_tokens must be at least 1, got {max_tokens}.", param="max_tokens", value=max_tokens)
    if request.min_tokens < 0:
        raise APIError(f"min_tokens must be greater than or equal to 0, got {request.min_tokens}.", param="min_tokens")
    if max_tokens is not None and request.min_tokens > max_tokens:
        raise APIError(
            f"min_tokens must be less than or equal to max_tokens={max_tokens}, got {request.min_tokens}.",
            param="min_tokens",
        )


def answer_rng(engine_seed: int, request: SamplingRequest, prompt_text: str) -> random.Random:
    """The randomness behind the text: fixed by (engine seed, request seed, prompt).

    Greedy decoding (temperature 0) ignores the request's seed, as a real sampler does.
    """
    greedy = request.temperature == 0
    prompt_digest = hashlib.sha256(prompt_text.encode()).hexdigest()
    # Simulation, not security: a seeded PRNG is the point (reproducible answers).
    return random.Random(f"{engine_seed}|{'greedy' if greedy else request.seed}|{prompt_digest}")  # noqa: S311


def constrained_text(request: SamplingRequest, customer_text: str, rng: random.Random) -> str | None:
    """The answer when structured outputs constrain it (a choice or a JSON document), else None."""
    structured = request.structured_outputs
    if structured is not None:
        return _structured_text(structured, customer_text, rng)
    response_format = request.response_format
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_schema":
        if response_format.json_schema is None:
            raise invalid_request(
                "When response_format type is 'json_schema', the 'json_schema' field must be provided.",
                param="response_format",
            )
        return orjson.dumps(schema_answer(response_format.json_schema.json_schema or {}, customer_text, rng)).decode()
    return "{}"


def _structured_text(structured: StructuredOutputs, customer_text: str, rng: random.Random) -> str | None:
    kinds = [kind for kind in (structured.json_schema, structured.regex, structured.choice) if kind is not None]
    if len(kinds) > 1:
        raise invalid_request(
            "You can only use one kind of constraints for structured outputs ('json', 'regex' or 'choice')."
        )
    if structured.choice is not None:
        if not structured.choice:
            raise APIError("structured_outputs.choice must not be empty.", param="structured_outputs")
        return pick_choice(structured.choice, customer_text, rng)
    if structured.json_schema is not None:
        schema = structured.json_schema
        if isinstance(schema, str):
            try:
                schema = orjson.loads(schema)
            except orjson.JSONDecodeError as exc:
                raise APIError(f"structured_outputs.json is not valid JSON: {exc}", param="structured_outputs") from exc
        return orjson.dumps(schema_answer(schema if isinstance(schema, dict) else {}, customer_text, rng)).decode()
    if structured.json_object:
        return "{}"
    if structured.regex is not None or structured.grammar is not None or structured.structural_tag is not None:
        raise APIError(
            "The engine simulator cannot generate text for regex, grammar or structural_tag constraints; "
            "use choice or json.",
            param="structured_outputs",
        )
    return None
