"""Credentials: user login, widget tokens for web-chat end users, and the public keys that verify them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from app.contracts import problems
from app.contracts.access import WIDGET_ISSUE
from app.contracts.api import AccessToken, LoginRequest, WidgetTokenRequest
from app.core.errors import ProblemError
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward
from app.gateway.openapi import problem_responses

router = APIRouter(tags=["auth"])
JWKS_CACHE_CONTROL = "public, max-age=300"


@router.post("/v1/auth/token", response_model=AccessToken, responses=problem_responses(429))
async def login(body: LoginRequest, request: Request, gateway: GatewayDep) -> Response:
    """Exchange an agent's or admin's email and password for a short-lived access token.

    Failed attempts are throttled per account and client, and per client: a client that guessed too often gets
    429 for the window; the account's owner on another client is never locked out by it.
    """
    client = request.client.host if request.client else "unknown"
    throttle = gateway.login_throttle
    await throttle.check(body.tenant, body.email, client)
    try:
        response = await forward(gateway.auth, "POST", "/v1/auth/token", body=body)
    except ProblemError as error:
        if error.type == problems.INVALID_LOGIN.uri:
            await throttle.failed(body.tenant, body.email, client)
        raise
    await throttle.succeeded(body.tenant, body.email, client)
    return response


@router.post("/v1/widget-tokens", response_model=AccessToken, responses=problem_responses())
async def issue_widget_token(
    body: WidgetTokenRequest,
    _issuer: Annotated[Caller, Depends(authenticated(WIDGET_ISSUE))],
    gateway: GatewayDep,
) -> Response:
    """With a tenant API key (scope `widget:issue`): a token for one web-chat end user, charged to the key."""
    return await forward(gateway.auth, "POST", "/v1/widget-tokens", body=body)


@router.get("/.well-known/jwks.json", responses=problem_responses())
async def jwks(gateway: GatewayDep, response: Response) -> dict[str, Any]:
    """The public keys access tokens are signed with (JWKS, Ed25519)."""
    response.headers["Cache-Control"] = JWKS_CACHE_CONTROL
    return await gateway.jwks.jwks()
