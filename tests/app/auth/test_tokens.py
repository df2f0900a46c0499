"""Access tokens: user login, widget tokens issued against a key, and the JWKS the gateway verifies with."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.contracts.api import Role, Scope, Tier
from app.core.access_tokens import KeySet
from tests.app.auth.conftest import seed_tenant
from tests.app.harness import IdentityFactory

PASSWORD = "correct horse battery staple"


async def keyset(client: httpx.AsyncClient) -> KeySet:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    return KeySet(response.json())


async def add_user(client: httpx.AsyncClient, admin: dict[str, str], email: str, role: Role) -> dict[str, str]:
    response = await client.post(
        "/v1/users", json={"email": email, "role": role.value, "password": PASSWORD}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_user_logs_in_and_gets_a_token_with_the_scopes_of_the_role(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    user = await add_user(auth_client, admin, "Agent.Smith@Acme.test", Role.AGENT)
    assert user["email"] == "agent.smith@acme.test"

    response = await auth_client.post(
        "/v1/auth/token", json={"tenant": "acme", "email": "AGENT.smith@acme.test", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims = (await keyset(auth_client)).verify(body["access_token"])
    assert claims.sub == user["id"]
    assert claims.tenant_id == tenant.id
    assert claims.principal == "user"
    assert claims.role == Role.AGENT
    assert set(claims.scopes) == {Scope.AGENT, Scope.CONVERSATIONS_READ}


@pytest.mark.parametrize(
    "login",
    [
        {"tenant": "acme", "email": "admin@acme.test", "password": "wrong password!"},
        {"tenant": "nope", "email": "admin@acme.test", "password": PASSWORD},
        {"tenant": "acme", "email": "x@y.z", "password": PASSWORD},
    ],
    ids=["wrong-password", "unknown-tenant", "unknown-email"],
)
async def test_a_failed_login_says_the_same_thing_whatever_was_wrong(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory, login: dict[str, str]
) -> None:
    acme = await seed_tenant(auth_app, "acme")
    await add_user(auth_client, identities.headers(identities.claims(acme.id)), "admin@acme.test", Role.ADMIN)

    response = await auth_client.post("/v1/auth/token", json=login)

    assert response.status_code == 401
    assert response.json()["type"] == "/problems/invalid-login"
    assert response.json()["detail"] == "The tenant, email and password do not match."


async def test_a_user_of_one_tenant_cannot_log_into_another(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    acme = await seed_tenant(auth_app, "acme")
    await seed_tenant(auth_app, "globex")
    await add_user(auth_client, identities.headers(identities.claims(acme.id)), "admin@acme.test", Role.ADMIN)

    response = await auth_client.post(
        "/v1/auth/token", json={"tenant": "globex", "email": "admin@acme.test", "password": PASSWORD}
    )

    assert response.status_code == 401


async def test_a_widget_token_names_the_end_user_and_the_issuing_key(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    key = (await auth_client.post("/v1/api-keys", json={"name": "site", "tier": "free"}, headers=admin)).json()
    issuer = identities.claims(tenant.id, scopes=[Scope.WIDGET_ISSUE], key_id=key["id"], tier=Tier.FREE)

    response = await auth_client.post(
        "/v1/widget-tokens", json={"end_user_id": "visitor-42", "ttl_seconds": 600}, headers=identities.headers(issuer)
    )

    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 600
    claims = (await keyset(auth_client)).verify(response.json()["access_token"])
    assert claims.sub == "visitor-42"
    assert claims.principal == "end_user"
    assert claims.role == Role.CUSTOMER
    assert set(claims.scopes) == {Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE}
    assert str(claims.key_id) == key["id"]
    assert claims.tier == Tier.FREE


async def test_widget_tokens_need_the_scope_an_api_key_and_a_live_key_of_the_same_tenant(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    acme = await seed_tenant(auth_app, "acme")
    globex = await seed_tenant(auth_app, "globex")
    admin = identities.headers(identities.claims(acme.id, scopes=[Scope.ADMIN]))
    key = (await auth_client.post("/v1/api-keys", json={"name": "site"}, headers=admin)).json()
    body = {"end_user_id": "visitor-42"}

    without_scope = identities.claims(acme.id, scopes=[Scope.CONVERSATIONS_WRITE], key_id=key["id"])
    assert (
        await auth_client.post("/v1/widget-tokens", json=body, headers=identities.headers(without_scope))
    ).status_code == 403

    a_user = identities.claims(acme.id, principal="user", role=Role.ADMIN, key_id=None)
    response = await auth_client.post("/v1/widget-tokens", json=body, headers=identities.headers(a_user))
    assert response.status_code == 403
    assert "API key" in response.json()["detail"]

    foreign = identities.claims(globex.id, scopes=[Scope.WIDGET_ISSUE], key_id=key["id"])
    assert (
        await auth_client.post("/v1/widget-tokens", json=body, headers=identities.headers(foreign))
    ).status_code == 401

    await auth_client.delete(f"/v1/api-keys/{key['id']}", headers=admin)
    revoked = identities.claims(acme.id, scopes=[Scope.WIDGET_ISSUE], key_id=key["id"])
    assert (
        await auth_client.post("/v1/widget-tokens", json=body, headers=identities.headers(revoked))
    ).status_code == 401


@pytest.mark.parametrize("ttl", [59, 3601])
async def test_widget_token_lifetimes_are_bounded(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory, ttl: int
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    issuer = identities.claims(tenant.id, scopes=[Scope.WIDGET_ISSUE])

    response = await auth_client.post(
        "/v1/widget-tokens", json={"end_user_id": "v", "ttl_seconds": ttl}, headers=identities.headers(issuer)
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "ttl_seconds"]


async def test_the_jwks_publishes_the_signing_key_by_thumbprint(
    auth_app: FastAPI, auth_client: httpx.AsyncClient
) -> None:
    jwks = (await auth_client.get("/.well-known/jwks.json")).json()
    signer = auth_app.state.auth_service.signer

    assert [key["kid"] for key in jwks["keys"]] == [signer.kid]
    assert jwks["keys"][0]["kty"] == "OKP"
    assert jwks["keys"][0]["crv"] == "Ed25519"
    assert "d" not in jwks["keys"][0]  # never the private part


async def test_an_expired_identity_token_is_refused(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    expired = identities.token(identities.claims(tenant.id), ttl_seconds=-60)

    response = await auth_client.get("/v1/api-keys", headers={"Authorization": f"Bearer {expired}"})

    assert response.status_code == 401
    assert response.json()["detail"] == "The identity token has expired."
