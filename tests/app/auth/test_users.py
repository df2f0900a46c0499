"""Users: created by tenant admins, unique per tenant, passwords hashed with Argon2."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.models import User
from app.contracts.api import Role, Scope
from app.core.db import Database
from tests.app.auth.conftest import seed_tenant
from tests.app.harness import IdentityFactory

NEW_USER = {"email": "agent@acme.test", "role": "agent", "password": "a long enough password"}


async def test_an_admin_creates_a_user_whose_password_is_stored_as_an_argon2_hash(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")

    response = await auth_client.post(
        "/v1/users", json=NEW_USER, headers=identities.headers(identities.claims(tenant.id))
    )

    assert response.status_code == 201
    assert set(response.json()) == {"id", "email", "role", "created_at"}
    database: Database = auth_app.state.database
    async with database.transaction() as session:
        row = await session.scalar(select(User).where(User.email == "agent@acme.test"))
    assert row is not None
    assert row.tenant_id == tenant.id
    assert row.password_hash.startswith("$argon2id$")


async def test_an_email_is_unique_within_a_tenant_but_not_across_tenants(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    acme = await seed_tenant(auth_app, "acme")
    globex = await seed_tenant(auth_app, "globex")
    acme_admin = identities.headers(identities.claims(acme.id))

    assert (await auth_client.post("/v1/users", json=NEW_USER, headers=acme_admin)).status_code == 201
    again = await auth_client.post("/v1/users", json={**NEW_USER, "email": "AGENT@acme.test"}, headers=acme_admin)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/email-taken"
    other = await auth_client.post("/v1/users", json=NEW_USER, headers=identities.headers(identities.claims(globex.id)))
    assert other.status_code == 201


async def test_creating_users_needs_the_admin_scope_and_valid_input(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    agent = identities.headers(identities.claims(tenant.id, role=Role.AGENT, scopes=[Scope.AGENT]))
    admin = identities.headers(identities.claims(tenant.id))

    assert (await auth_client.post("/v1/users", json=NEW_USER, headers=agent)).status_code == 403
    assert (await auth_client.post("/v1/users", json=NEW_USER)).status_code == 401
    short = await auth_client.post("/v1/users", json={**NEW_USER, "password": "short"}, headers=admin)
    assert short.status_code == 422
    customer = await auth_client.post("/v1/users", json={**NEW_USER, "role": "customer"}, headers=admin)
    assert customer.status_code == 422  # end users come from widget tokens, not accounts


async def test_a_value_postgres_cannot_store_is_a_400_not_a_500(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")

    response = await auth_client.post(
        "/v1/users",
        json={**NEW_USER, "email": "a\u0000b@acme.test"},
        headers=identities.headers(identities.claims(tenant.id)),
    )

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/bad-request"
