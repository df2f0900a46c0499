"""Response bodies and SSE chunks in vLLM's exact shapes, serialised without pydantic.

A stream's per-token chunk is serialised once per request as a template with one string slot; each token is
then ``head + json(token) + tail``. Field order and the explicit nulls follow vLLM's protocol models
(``model_dump_json(exclude_unset=True)`` for chunks, full ``model_dump()`` for non-streamed bodies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from app.enginesim.answers import visible
from app.enginesim.engine import Outcome, Sequence

DONE = b"data: [DONE]\n\n"

_SLOT = "@@enginesim-slot@@"

Endpoint = Literal["chat", "completion"]


def sse(document: Any) -> bytes:
    return b"data: " + orjson.dumps(document) + b"\n\n"


class SlotTemplate:
    """An SSE event whose JSON has one string slot, serialised once; ``fill`` is two concatenations."""

    def __init__(self, document: Any) -> None:
        head, marker, tail = orjson.dumps(document).partition(orjson.dumps(_SLOT))
        if not marker:
            raise ValueError("the document has no slot")
        self._head = b"data: " + head
        self._tail = tail + b"\n\n"

    def fill(self, text: str) -> bytes:
        return self._head + orjson.dumps(text) + self._tail


@dataclass(frozen=True)
class ResponseHeader:
    """What every chunk and body of one response repeats."""

    endpoint: Endpoint
    request_id: str
    created: int
    model: str
    #: Report ``prompt_tokens_details.cached_tokens`` (vLLM's --enable-prompt-tokens-details).
    prompt_tokens_details: bool = False

    def envelope(self, *, chunk: bool) -> dict[str, Any]:
        if self.endpoint == "chat":
            kind = "chat.completion.chunk" if chunk else "chat.completion"
        else:
            kind = "text_completion"
        return {"id": self.request_id, "object": kind, "created": self.created, "model": self.model}

    def usage(self, seq: Sequence) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": seq.num_prompt_tokens,
            "total_tokens": seq.num_prompt_tokens + seq.emitted,
            "completion_tokens": seq.emitted,
        }
        if self.prompt_tokens_details:
            usage["prompt_tokens_details"] = {"cached_tokens": seq.cached_tokens}
        return usage


class StreamRenderer:
    """Turns a sequence's newly emitted tokens into SSE bytes for one streamed response."""

    def __init__(self, header: ResponseHeader, *, include_usage: bool, continuous_usage: bool) -> None:
        self.header = header
        self.include_usage = include_usage
        self.continuous_usage = continuous_usage
        self._token = SlotTemplate(self._token_chunk(_SLOT, final=None))

    def opening(self) -> bytes:
        """Sent with the first token: chat streams announce the assistant role first, completions do not."""
        if self.header.endpoint != "chat":
            return b""
        choice = {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
        return sse({**self.header.envelope(chunk=True), "choices": [choice], "prompt_token_ids": None})

    def tokens(self, seq: Sequence, start: int, end: int) -> bytes:
        """Chunks for output tokens ``start`` to ``end``; the last token of a finished sequence carries the finish."""
        tokens = seq.completion.tokens
        finished = seq.outcome is Outcome.FINISHED
        parts: list[bytes] = []
        for index in range(start, end):
            final = finished and index == len(tokens) - 1
            if final or self.continuous_usage:
                chunk = self._token_chunk(visible(tokens[index]), final=seq if final else None)
                if self.continuous_usage:
                    chunk["usage"] = self._running_usage(seq, index + 1)
                parts.append(sse(chunk))
            else:
                parts.append(self._token.fill(visible(tokens[index])))
        return b"".join(parts)

    def closing(self, seq: Sequence) -> bytes:
        """The usage chunk (``choices: []``) when asked for, then ``[DONE]``."""
        if not self.include_usage:
            return DONE
        return sse({**self.header.envelope(chunk=True), "choices": [], "usage": self.header.usage(seq)}) + DONE

    def _token_chunk(self, text: str, *, final: Sequence | None) -> dict[str, Any]:
        """One token's chunk with the fields vLLM sets (its chunks are dumped with ``exclude_unset``)."""
        finish_reason = final.completion.finish_reason if final is not None else None
        stop_reason = final.completion.stop_reason if final is not None else None
        if self.header.endpoint == "chat":
            choice: dict[str, Any] = {"index": 0, "delta": {"content": text}, "logprobs": None}
            choice["finish_reason"] = finish_reason
            if final is not None:
                choice["stop_reason"] = stop_reason
            choice["token_ids"] = None
        else:
            choice = {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": finish_reason,
                "stop_reason": stop_reason,
                "prompt_token_ids": None,
                "token_ids": None,
            }
        return {**self.header.envelope(chunk=True), "choices": [choice]}

    def _running_usage(self, seq: Sequence, completion_tokens: int) -> dict[str, int]:
        prompt_tokens = seq.num_prompt_tokens
        return {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
        }


def full_response(header: ResponseHeader, seq: Sequence) -> dict[str, Any]:
    """The non-streamed body of a finished sequence."""
    completion = seq.completion
    text = completion.text
    choice: dict[str, Any]
    if header.endpoint == "chat":
        message = {
            "role": "assistant",
            "content": text,
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": [],
            "reasoning": None,
            "reasoning_content": None,
        }
        choice = {"index": 0, "message": message}
    else:
        choice = {"index": 0, "text": text}
    choice |= {
        "logprobs": None,
        "finish_reason": completion.finish_reason,
        "stop_reason": completion.stop_reason,
        "token_ids": None,
    }
    if header.endpoint == "completion":
        choice |= {"prompt_logprobs": None, "prompt_token_ids": None}
    usage = header.usage(seq)
    usage.setdefault("prompt_tokens_details", None)
    body = {
        **header.envelope(chunk=False),
        "choices": [choice],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": usage,
    }
    if header.endpoint == "chat":
        body |= {"prompt_logprobs": None, "prompt_token_ids": None}
    body["kv_transfer_params"] = None
    return body
