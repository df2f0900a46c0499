"""Internal identity tokens and the scope checks every internal endpoint does."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

import httpx
import jwt
import pytest

from app.contracts.api import Role, Scope
from app.contracts.internal import IdentityClaims
from app.core.identity import (
    InvalidIdentityError,
    MissingScopeError,
    mint_identity_token,
    mint_service_token,
    verify_identity_token,
    verify_service_token,
)
from tests.app.core.conftest import DemoSettings, build_demo_app
from tests.app.harness import random_secret

SECRET = random_secret()
CLAIMS = IdentityClaims(
    tenant_id=uuid4(), principal="end_user", subject="visitor-1", role=Role.CUSTOMER, scopes=[Scope.CONVERSATIONS_READ]
)


def test_a_minted_token_verifies_to_the_same_claims() -> None:
    token = mint_identity_token(CLAIMS, secret=SECRET, issuer="gateway")

    assert verify_identity_token(token, secret=SECRET) == CLAIMS
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="helpline-internal")
    assert payload["iss"] == "gateway"
    assert payload["exp"] - payload["iat"] == 300


@pytest.mark.parametrize(
    ("make_token", "detail"),
    [
        (lambda: mint_identity_token(CLAIMS, secret=SECRET, issuer="gateway", now=time.time() - 600), "has expired"),
        (lambda: mint_identity_token(CLAIMS, secret=random_secret(), issuer="gateway"), "is invalid"),
        (
            lambda: jwt.encode({"sub": "x", "aud": "other", "iss": "gateway", "iat": 1, "exp": 2**40}, SECRET),
            "is invalid",
        ),
        (lambda: jwt.encode({"tenant_id": "x"}, SECRET), "is invalid"),
        (lambda: "not-a-jwt", "is invalid"),
        # Minted when the test runs, not at collection: a suite that reaches it minutes later (a loaded CI machine)
        # would find the short-lived service token expired and get "has expired" instead.
        (lambda: mint_service_token(secret=SECRET, issuer="gateway"), "claims are malformed"),
    ],
    ids=["expired", "forged", "wrong-audience", "missing-claims", "garbage", "service-token"],
)
def test_bad_tokens_are_refused_with_the_reason(make_token: Callable[[], str], detail: str) -> None:
    with pytest.raises(InvalidIdentityError) as caught:
        verify_identity_token(make_token(), secret=SECRET)

    assert detail in str(caught.value.detail)
    assert caught.value.status == 401


def test_service_tokens_admit_only_the_named_services() -> None:
    token = mint_service_token(secret=SECRET, issuer="gateway")

    assert verify_service_token(token, secret=SECRET, allowed_issuers=("gateway",)) == "gateway"
    with pytest.raises(MissingScopeError):
        verify_service_token(token, secret=SECRET, allowed_issuers=("chat",))
    with pytest.raises(MissingScopeError):  # a customer's identity is not a service
        verify_service_token(
            mint_identity_token(CLAIMS, secret=SECRET, issuer="gateway"), secret=SECRET, allowed_issuers=("gateway",)
        )


async def test_endpoints_check_the_token_then_the_scopes() -> None:
    app = build_demo_app(DemoSettings(environment="test", internal_token_secret=SECRET))  # type: ignore[arg-type]
    admin = CLAIMS.model_copy(update={"role": Role.ADMIN, "scopes": [Scope.ADMIN]})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        missing = await client.get("/private")
        wrong_scope = await client.get(
            "/private", headers={"Authorization": f"Bearer {mint_identity_token(CLAIMS, secret=SECRET, issuer='gw')}"}
        )
        allowed = await client.get(
            "/private", headers={"Authorization": f"Bearer {mint_identity_token(admin, secret=SECRET, issuer='gw')}"}
        )

    assert missing.status_code == 401
    assert wrong_scope.status_code == 403
    assert wrong_scope.json()["type"] == "/problems/insufficient-scope"
    assert wrong_scope.json()["required_scopes"] == ["admin"]
    assert allowed.json() == {"tenant": str(CLAIMS.tenant_id)}
