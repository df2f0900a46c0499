"""Who may call: API keys (cached, revoked at once), widget tokens, user tokens; expired and forged refused."""

from __future__ import annotations

import time
from uuid import uuid4

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.contracts.access import ROLE_SCOPES
from app.contracts.api import Role, Scope, Tier
from app.core.access_tokens import AccessTokenClaims, Signer
from app.core.api_keys import generate_api_key
from tests.app.gateway.conftest import RunningService, Tenant, provision
from tests.app.gateway.stand_ins import StandInState

CONVERSATION = {"customer_ref": "cust-1", "metadata": {"plan": "gold"}}


def assert_unauthorized(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unauthorized"
    assert response.json()["detail"] == detail
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_a_request_without_a_credential_is_told_how_to_authenticate(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/conversations", json=CONVERSATION)

    assert_unauthorized(response, "Send a credential: Authorization: Bearer <API key or access token>.")
    assert response.headers["www-authenticate"] == 'Bearer realm="helpline"'


async def test_an_api_key_reaches_the_service_as_an_identity_of_its_tenant(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    response = await gateway.post("/v1/conversations", json=CONVERSATION, headers=acme.headers)

    assert response.status_code == 201, response.text
    identity = stand_in_state.received[-1].identity
    assert identity is not None
    assert identity.tenant_id == acme.id
    assert identity.principal == "api_key"
    assert identity.key_id == acme.key_id
    assert identity.tier == Tier.ENTERPRISE
    assert "hl_live_" not in str(stand_in_state.received[-1].headers)  # services never see the customer's key


async def test_malformed_and_unknown_keys_are_refused(gateway: httpx.AsyncClient, acme: Tenant) -> None:
    malformed = await gateway.get("/v1/api-keys", headers={"Authorization": "Bearer hl_live_short"})
    unknown = await gateway.get("/v1/api-keys", headers={"Authorization": f"Bearer {generate_api_key().key}"})

    assert_unauthorized(malformed, "The API key is malformed.")
    assert_unauthorized(unknown, "The API key is not valid.")


async def test_a_revoked_key_is_refused_at_once_even_when_its_verification_is_cached(
    gateway: httpx.AsyncClient, auth_service: RunningService, acme: Tenant
) -> None:
    victim = await provision(auth_service, "acme-2", Tier.FREE)
    assert (await gateway.post("/v1/conversations", json={}, headers=victim.headers)).status_code == 201  # cached
    admin = await provision(auth_service, "acme-3")  # another tenant's admin cannot revoke it
    foreign = await gateway.delete(f"/v1/api-keys/{victim.key_id}", headers=admin.headers)
    assert foreign.status_code == 404

    own_admin_key = await gateway.post(
        "/v1/api-keys", json={"name": "admin", "tier": "free", "scopes": ["admin"]}, headers=victim.headers
    )
    assert own_admin_key.status_code == 201
    own_admin = {"Authorization": f"Bearer {own_admin_key.json()['key']}"}
    assert (await gateway.delete(f"/v1/api-keys/{victim.key_id}", headers=own_admin)).status_code == 204

    assert_unauthorized(
        await gateway.post("/v1/conversations", json={}, headers=victim.headers), "The API key has been revoked."
    )


async def test_widget_tokens_act_for_one_end_user_and_count_against_their_key(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    issued = await gateway.post("/v1/widget-tokens", json={"end_user_id": "visitor-7"}, headers=acme.headers)
    assert issued.status_code == 200, issued.text
    widget = {"Authorization": f"Bearer {issued.json()['access_token']}"}

    created = await gateway.post("/v1/conversations", json={}, headers=widget)

    assert created.status_code == 201, created.text
    assert created.json()["customer_ref"] == "visitor-7"
    identity = stand_in_state.received[-1].identity
    assert identity is not None
    assert (identity.principal, identity.subject, identity.role) == ("end_user", "visitor-7", Role.CUSTOMER)
    assert identity.key_id == acme.key_id
    assert set(identity.scopes) == {Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE}
    assert (await gateway.get("/v1/api-keys", headers=widget)).status_code == 403


async def test_a_widget_token_dies_with_its_key(
    gateway: httpx.AsyncClient, auth_service: RunningService, acme: Tenant
) -> None:
    issuer = await provision(auth_service, "shop", Tier.STANDARD, scopes=[Scope.WIDGET_ISSUE, Scope.ADMIN])
    token = (await gateway.post("/v1/widget-tokens", json={"end_user_id": "v"}, headers=issuer.headers)).json()
    widget = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await gateway.post("/v1/conversations", json={}, headers=widget)).status_code == 201

    assert (await gateway.delete(f"/v1/api-keys/{issuer.key_id}", headers=issuer.headers)).status_code == 204

    assert_unauthorized(
        await gateway.post("/v1/conversations", json={}, headers=widget), "The API key has been revoked."
    )


async def test_users_log_in_and_act_with_the_scopes_of_their_role(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    password = "a long agent password"
    created = await gateway.post(
        "/v1/users", json={"email": "ana@acme.test", "role": "agent", "password": password}, headers=acme.headers
    )
    assert created.status_code == 201, created.text
    login = await gateway.post(
        "/v1/auth/token", json={"tenant": "acme", "email": "ana@acme.test", "password": password}
    )
    assert login.status_code == 200, login.text
    agent = {"Authorization": f"Bearer {login.json()['access_token']}"}

    assert (await gateway.get("/v1/agent/conversations", headers=agent)).status_code == 200
    identity = stand_in_state.received[-1].identity
    assert identity is not None
    assert (identity.principal, identity.role, identity.key_id) == ("user", Role.AGENT, None)
    forbidden = await gateway.post("/v1/conversations", json={}, headers=agent)
    assert forbidden.status_code == 403
    assert forbidden.json()["required_scopes"] == ["conversations:write"]


async def test_expired_and_forged_access_tokens_are_refused(gateway: httpx.AsyncClient, acme: Tenant) -> None:
    claims = AccessTokenClaims(
        sub=str(uuid4()), tenant_id=acme.id, principal="user", role=Role.ADMIN, scopes=list(ROLE_SCOPES[Role.ADMIN])
    )
    forged = Signer(Ed25519PrivateKey.generate()).sign(claims, ttl_seconds=600)
    jwks = (await gateway.get("/.well-known/jwks.json")).json()
    assert jwks["keys"]

    assert_unauthorized(
        await gateway.get("/v1/api-keys", headers={"Authorization": f"Bearer {forged}"}),
        "The access token was signed by an unknown key.",
    )
    assert_unauthorized(
        await gateway.get("/v1/api-keys", headers={"Authorization": "Bearer not.a.token"}),
        "The access token is malformed.",
    )


async def test_an_expired_token_from_auth_is_refused(
    gateway: httpx.AsyncClient, auth_service: RunningService, acme: Tenant
) -> None:
    signer: Signer = auth_service.app.state.auth_service.signer
    claims = AccessTokenClaims(
        sub="visitor", tenant_id=acme.id, principal="end_user", role=Role.CUSTOMER, scopes=[Scope.CONVERSATIONS_READ]
    )
    expired = signer.sign(claims, ttl_seconds=60, now=time.time() - 3600)

    assert_unauthorized(
        await gateway.get(f"/v1/conversations/{uuid4()}", headers={"Authorization": f"Bearer {expired}"}),
        "The access token has expired.",
    )
