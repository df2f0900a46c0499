"""Key verification: the gateway's only way to learn a key's tenant, tier and scopes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.contracts.api import Scope, Tier
from app.core.api_keys import generate_api_key
from tests.app.auth.conftest import seed_tenant
from tests.app.harness import IdentityFactory

VERIFY = "/internal/v1/api-keys:verify"


async def test_a_valid_key_verifies_to_its_tenant_tier_and_scopes_and_is_marked_used(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    created = (
        await auth_client.post(
            "/v1/api-keys", json={"name": "k", "tier": "enterprise", "scopes": ["completions"]}, headers=admin
        )
    ).json()

    response = await auth_client.post(VERIFY, json={"key": created["key"]}, headers=identities.service_headers())

    assert response.status_code == 200
    assert response.json() == {
        "key_id": created["id"],
        "tenant_id": str(tenant.id),
        "tier": Tier.ENTERPRISE.value,
        "scopes": ["completions"],
    }
    listed = (await auth_client.get("/v1/api-keys", headers=admin)).json()
    assert listed[0]["last_used_at"] is not None


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        ("hl_live_nope", "The API key is malformed."),
        (generate_api_key().key, "The API key is not valid."),
    ],
    ids=["malformed", "unknown"],
)
async def test_malformed_and_unknown_keys_are_refused(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory, key: str, detail: str
) -> None:
    response = await auth_client.post(VERIFY, json={"key": key}, headers=identities.service_headers())

    assert response.status_code == 401
    assert response.json()["detail"] == detail


async def test_only_the_gateway_may_verify_keys(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    body = {"key": generate_api_key().key}

    assert (await auth_client.post(VERIFY, json=body)).status_code == 401
    customer_identity = identities.headers(identities.claims())
    assert (await auth_client.post(VERIFY, json=body, headers=customer_identity)).status_code == 403
    from_chat = await auth_client.post(VERIFY, json=body, headers=identities.service_headers("chat"))
    assert from_chat.status_code == 403
    forged = IdentityFactory(secret="another-secret-that-is-long-enough-to-pass").service_headers()
    assert (await auth_client.post(VERIFY, json=body, headers=forged)).status_code == 401
