"""What the OpenAI-compatible pass-through may forward to the engine: an allowlist of fields per key tier.

The engine accepts far more than chat needs, and some of it is dangerous from inside the cluster: media parts
(``image_url``, ``input_audio``, ``video_url``, ``file``) a multimodal engine would fetch by URL, JSON-schema
``$ref`` (remote references), ``logits_processors`` (arbitrary engine plugins), ``ignore_eos`` (generate to the
length limit, a cost amplifier), structured-output grammars and regexes (compile cost on the engine). So the
gateway forwards only what a tier is allowed and refuses the rest in one 400 that names every refused field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.contracts import problems
from app.contracts.api import Tier
from app.core.errors import ProblemError

#: Plain chat and sampling: every tier.
BASE_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "n",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "user",
    }
)
#: Paid tiers add JSON output, tool calling and log-probabilities (all without remote references).
PAID_FIELDS = BASE_FIELDS | {
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "logprobs",
    "top_logprobs",
}
ALLOWED_FIELDS: dict[Tier, frozenset[str]] = {
    Tier.FREE: BASE_FIELDS,
    Tier.STANDARD: PAID_FIELDS,
    Tier.ENTERPRISE: PAID_FIELDS,
}
MESSAGE_FIELDS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})
MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
CONTENT_PART_TYPES = frozenset({"text"})
STREAM_OPTIONS = frozenset({"include_usage"})
RESPONSE_FORMATS = frozenset({"text", "json_object", "json_schema"})


class FieldsNotAllowedError(ProblemError):
    problem = problems.FIELDS_NOT_ALLOWED


def _references(value: Any, path: str) -> Iterator[str]:
    """Every ``$ref`` inside a JSON document (a schema's remote or recursive references)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield f"{path}.$ref"
            else:
                yield from _references(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}[{index}]")


def _message_issues(index: int, message: Any) -> Iterator[str]:
    path = f"messages[{index}]"
    if not isinstance(message, dict):
        return  # the request schema refuses it (422)
    yield from (f"{path}.{key}" for key in message if key not in MESSAGE_FIELDS)
    if message.get("role") not in MESSAGE_ROLES:
        yield f"{path}.role"
    content = message.get("content")
    if isinstance(content, list):
        for part_index, part in enumerate(content):
            part_type = part.get("type") if isinstance(part, dict) else None
            if part_type not in CONTENT_PART_TYPES:
                yield f"{path}.content[{part_index}].type={part_type}"
            elif isinstance(part, dict):
                yield from (f"{path}.content[{part_index}].{key}" for key in part if key not in ("type", "text"))


def disallowed_fields(body: dict[str, Any], tier: Tier) -> list[str]:
    """The dotted paths of everything in ``body`` the tier may not send to the engine (empty: forward it)."""
    allowed = ALLOWED_FIELDS[tier]
    issues = [key for key in body if key not in allowed]
    for index, message in enumerate(body.get("messages") or ()):
        issues.extend(_message_issues(index, message))
    options = body.get("stream_options")
    if isinstance(options, dict):
        issues.extend(f"stream_options.{key}" for key in options if key not in STREAM_OPTIONS)
    response_format = body.get("response_format")
    if "response_format" in allowed and isinstance(response_format, dict):
        if response_format.get("type") not in RESPONSE_FORMATS:
            issues.append(f"response_format.type={response_format.get('type')}")
        issues.extend(_references(response_format, "response_format"))
    if "tools" in allowed:
        issues.extend(_references(body.get("tools"), "tools"))
    return issues


def check_passthrough(body: dict[str, Any], tier: Tier) -> None:
    """Raise a 400 naming every field the tier may not forward."""
    issues = disallowed_fields(body, tier)
    if issues:
        raise FieldsNotAllowedError(
            f"These fields are not accepted on the {tier.value} tier: {', '.join(issues)}. "
            "Allowed: " + ", ".join(sorted(ALLOWED_FIELDS[tier])) + "; message content parts of type text only.",
            param=issues[0],
            fields=issues,
        )
