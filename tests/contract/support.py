"""What the contract tests share: the target under test, SSE parsing and vLLM's error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import openai

from app.enginesim.launcher import EngineSimProcess


@dataclass
class Target:
    """The server the contract is checked against: a simulator process, or a real vLLM."""

    base_url: str
    api_key: str | None
    model: str
    simulator: EngineSimProcess | None = None
    _http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def v1_url(self) -> str:
        return f"{self.base_url}/v1"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @cached_property
    def openai(self) -> openai.OpenAI:
        """The official client, as the chat service uses it (no retries: the contract is about single answers)."""
        return openai.OpenAI(base_url=self.v1_url, api_key=self.api_key or "unused", max_retries=0)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self._http.get(path, **options)

    def post(self, path: str, body: Any, *, auth: bool = True, **options: Any) -> httpx.Response:
        headers = {**(self.auth() if auth else {}), **options.pop("headers", {})}
        return self._http.post(path, json=body, headers=headers, **options)

    def stream(self, path: str, body: Any) -> list[dict[str, Any] | str]:
        """POST a streaming request and return its events, after checking the SSE framing."""
        with self._http.stream("POST", path, json=body, headers=self.auth()) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            return parse_sse(response.read().decode())

    def chat(self, **body: Any) -> dict[str, Any]:
        response = self.post("/v1/chat/completions", {"model": self.model, **body})
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self._http.close()
        if "openai" in self.__dict__:
            self.openai.close()


def parse_sse(text: str) -> list[dict[str, Any] | str]:
    """Events of a vLLM stream: each exactly ``data: <json>\\n\\n``, the last ``data: [DONE]\\n\\n``."""
    assert text.endswith("\n\n"), "every event ends with a blank line"
    events: list[dict[str, Any] | str] = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: "), f"not a data event: {block!r}"
        assert "\n" not in block, f"one line per event: {block!r}"
        payload = block.removeprefix("data: ")
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    return events


def chunks(events: list[dict[str, Any] | str]) -> Iterator[dict[str, Any]]:
    for event in events:
        if isinstance(event, dict):
            yield event


def assert_error_body(body: Any, *, code: int) -> dict[str, Any]:
    """vLLM's error shape: exactly message, type, param, code (the HTTP status)."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    return error
