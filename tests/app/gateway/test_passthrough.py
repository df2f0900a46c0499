"""The pass-through allowlist as a pure function: what each tier may forward, and how refusals are named."""

from __future__ import annotations

import pytest

from app.contracts.api import Tier
from app.gateway.passthrough import BASE_FIELDS, FieldsNotAllowedError, check_passthrough, disallowed_fields

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("tier", list(Tier))
def test_plain_chat_with_every_sampling_field_passes_on_every_tier(tier: Tier) -> None:
    body = dict.fromkeys(BASE_FIELDS) | CHAT | {"stream_options": {"include_usage": True}}
    assert disallowed_fields(body, tier) == []


def test_message_shape_is_checked_part_by_part() -> None:
    body = {
        **CHAT,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {}}]},
            {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}, {"type": "file"}]},
            {"role": "robot", "content": "x", "extra": 1},
        ],
    }
    assert disallowed_fields(body, Tier.ENTERPRISE) == [
        "messages[0].content[0].cache_control",
        "messages[1].content[0].type=input_audio",
        "messages[1].content[1].type=file",
        "messages[2].extra",
        "messages[2].role",
    ]


def test_json_output_is_allowed_without_references_or_grammars() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    assert disallowed_fields({**CHAT, "response_format": schema}, Tier.STANDARD) == []
    referenced = {"type": "json_schema", "json_schema": {"schema": {"items": [{"$ref": "#/defs/a"}]}}}
    assert disallowed_fields({**CHAT, "response_format": referenced}, Tier.STANDARD) == [
        "response_format.json_schema.schema.items[0].$ref"
    ]
    assert disallowed_fields({**CHAT, "response_format": {"type": "grammar"}}, Tier.STANDARD) == [
        "response_format.type=grammar"
    ]
    assert disallowed_fields({**CHAT, "response_format": schema}, Tier.FREE) == ["response_format"]


def test_the_refusal_names_every_field_and_what_is_allowed() -> None:
    with pytest.raises(FieldsNotAllowedError) as raised:
        check_passthrough({**CHAT, "ignore_eos": True, "stream_options": {"continuous_usage_stats": True}}, Tier.FREE)
    assert raised.value.status == 400
    assert raised.value.extra["fields"] == ["ignore_eos", "stream_options.continuous_usage_stats"]
    assert "temperature" in str(raised.value.detail)
