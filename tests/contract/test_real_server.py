"""The session's real vLLM (``real_vllm``, tests/support): the pinned CPU build serving the tiny model we build."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.vllm_fixtures import BASE_URL_ENV, RealVllm
from tests.support.vllm_server import VLLM_VERSION


def test_serves_the_tiny_model_with_its_context(real_vllm: RealVllm) -> None:
    cards = httpx.get(f"{real_vllm.v1_url}/models", headers=real_vllm.auth(), timeout=30).json()["data"]
    card = next(card for card in cards if card["id"] == real_vllm.model)
    assert card["max_model_len"] == real_vllm.max_model_len


def test_answers_a_chat_turn(real_vllm: RealVllm) -> None:
    client = openai.OpenAI(base_url=real_vllm.v1_url, api_key=real_vllm.api_key or "EMPTY", max_retries=0)
    completion = client.chat.completions.create(
        model=real_vllm.model,
        messages=[{"role": "user", "content": "Where is my order?"}],
        max_tokens=5,
        extra_body={"ignore_eos": True},
    )
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 5
    client.close()


def test_is_the_pinned_version_when_we_start_it(real_vllm: RealVllm) -> None:
    if real_vllm.server is None:
        pytest.skip(f"{BASE_URL_ENV} names a server started elsewhere: any version may run there")
    assert httpx.get(f"{real_vllm.base_url}/version", timeout=30).json()["version"] == VLLM_VERSION
