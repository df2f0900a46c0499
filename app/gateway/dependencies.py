"""The gateway's per-request dependency: authenticate, check scopes, admit, and mint the identity token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.contracts.access import Access
from app.contracts.internal import IdentityClaims
from app.core.identity import InvalidIdentityError, bind_identity, check_access, mint_identity_token
from app.core.request_context import request_id_of
from app.gateway.components import Gateway

#: Documents the bearer scheme in OpenAPI ("Authorize" in /docs); errors are ours (problem+json), not its.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A tenant API key (`hl_live_...`), a widget token, or a user access token from /v1/auth/token.",
)
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="helpline"'}


async def gateway_of(request: Request) -> Gateway:
    # async on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, a costly hop per request.
    return request.app.state.gateway


@dataclass(frozen=True)
class Caller:
    identity: IdentityClaims
    started_at: float  # perf_counter at the start of the request (time to first token is measured from it)
    request_id: str = "-"
    client_ip: str | None = None  # the connection's address (X-Forwarded-For only from the trusted ingress)


def authenticated(access: Access, *, admit: bool = True) -> Callable[..., Awaitable[Caller]]:
    """Authenticate, check ``access`` (credential kind and scopes), admit (rate, quota, revocation), bind identity.

    The returned dependency carries ``access`` as an attribute: the roles table (``app.gateway.roles``) reads
    each route's rule from it, so the documented table is the enforced one.

    ``admit=False`` leaves admission to the route, which must call ``gatekeeper.admit``: the streaming turn does,
    to take its stream lease in the same Redis round trip as the other checks.
    """

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
    ) -> Caller:
        if credentials is None or not credentials.credentials:
            raise InvalidIdentityError(
                "Send a credential: Authorization: Bearer <API key or access token>.", headers=WWW_AUTHENTICATE
            )
        gateway: Gateway = request.app.state.gateway
        identity = await gateway.authenticator.identify(credentials.credentials)
        check_access(identity, access)
        if admit:
            await gateway.gatekeeper.admit(identity)
        bind_identity(identity, mint_identity_token(identity, secret=gateway.internal_secret, issuer="gateway"))
        return Caller(
            identity=identity,
            started_at=request.state.started_at,
            request_id=request_id_of(request.scope),
            client_ip=request.client.host if request.client else None,
        )

    dependency.access = access  # type: ignore[attr-defined]
    return dependency


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
