"""Tenants' assistant profiles: the default, an admin's change, per tenant, validated."""

from __future__ import annotations

from uuid import uuid4

from tests.app.chat.conftest import CHAT_MODEL, Desk

PATH = "/internal/v1/assistant-profile"


async def test_a_tenant_without_a_profile_gets_the_default(desk: Desk) -> None:
    response = await desk.chat.get(PATH, headers=desk.admin_headers(uuid4()))
    assert response.status_code == 200
    assert response.json()["model"] == CHAT_MODEL
    assert response.json()["system_prompt"]


async def test_an_admin_sets_the_profile_for_their_tenant_only(desk: Desk) -> None:
    tenant, other = uuid4(), uuid4()
    profile = {"system_prompt": "You are Acme's assistant.", "model": CHAT_MODEL, "temperature": 0.1, "max_tokens": 200}
    saved = await desk.chat.put(PATH, json=profile, headers=desk.admin_headers(tenant))
    assert saved.status_code == 200
    assert (await desk.chat.get(PATH, headers=desk.admin_headers(tenant))).json() == profile
    assert (await desk.chat.get(PATH, headers=desk.admin_headers(other))).json()["system_prompt"] != profile[
        "system_prompt"
    ]

    customer = desk.customer(tenant)
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "Hello")
    assert turn.named("done")[0]["message"]["usage"]["completion_tokens"] <= 200


async def test_profiles_are_validated_and_admin_only(desk: Desk) -> None:
    tenant = uuid4()
    headers = desk.admin_headers(tenant)
    unknown = {"system_prompt": "x", "model": "not-served", "temperature": 0.1, "max_tokens": 10}
    refused = await desk.chat.put(PATH, json=unknown, headers=headers)
    assert refused.status_code == 422
    assert "not served" in refused.json()["detail"]
    too_hot = {"system_prompt": "x", "model": CHAT_MODEL, "temperature": 9, "max_tokens": 10}
    assert (await desk.chat.put(PATH, json=too_hot, headers=headers)).status_code == 422
    customer = desk.customer(tenant)
    assert (await desk.chat.get(PATH, headers=customer.headers)).status_code == 403
