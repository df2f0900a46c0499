"""--api-key guards /v1/* only, with vLLM's exact 401 body."""

from __future__ import annotations

import openai
import pytest

from tests.contract.support import Target


@pytest.fixture
def keyed(target: Target) -> Target:
    if not target.api_key:
        pytest.skip("the target runs without --api-key")
    return target


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/anything"])
def test_missing_or_wrong_key_is_401(keyed: Target, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {keyed.api_key}"}):
        response = keyed.post(path, {"model": keyed.model}, auth=False, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}


def test_openai_client_raises_authentication_error(keyed: Target) -> None:
    client = openai.OpenAI(base_url=keyed.v1_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        client.models.list()
    assert raised.value.status_code == 401


def test_right_key_passes(keyed: Target) -> None:
    assert keyed.get("/v1/models", headers=keyed.auth()).status_code == 200


def test_paths_outside_v1_are_open(keyed: Target) -> None:
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/metrics").status_code == 200
