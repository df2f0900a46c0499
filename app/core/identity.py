"""Internal identity tokens: who a request is for, minted once by the gateway and checked by every service.

HS256 JWTs (PyJWT) signed with ``HELPLINE_INTERNAL_TOKEN_SECRET``, audience ``helpline-internal``, issuer the
minting service, valid 5 minutes (long enough for the longest stream's downstream calls, short enough that a
leaked token is near useless). Services never see the customer's credential: they trust these claims, filter
every query by ``tenant_id``, and forward the token on their own downstream calls (a contextvar carries it to
``app.core.internal_client``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import jwt
from fastapi import Request
from pydantic import ValidationError

from app.contracts import problems
from app.contracts.access import Access
from app.contracts.api import Scope
from app.contracts.internal import IdentityClaims
from app.core.errors import ProblemError
from app.core.logging import bind_log_context

AUDIENCE = "helpline-internal"
ALGORITHM = "HS256"
TOKEN_TTL_SECONDS = 300
LEEWAY_SECONDS = 5  # clock skew between pods
_REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")

#: The raw identity token of the request being served, forwarded on downstream calls.
current_identity_token: ContextVar[str | None] = ContextVar("current_identity_token", default=None)


class InvalidIdentityError(ProblemError):
    """No, malformed, forged or expired identity token on an internal endpoint (or a bad public credential)."""

    problem = problems.UNAUTHORIZED


class MissingScopeError(ProblemError):
    problem = problems.FORBIDDEN


class PrincipalNotAllowedError(ProblemError):
    problem = problems.PRINCIPAL_NOT_ALLOWED


def mint_identity_token(
    claims: IdentityClaims, *, secret: str, issuer: str, ttl_seconds: int = TOKEN_TTL_SECONDS, now: float | None = None
) -> str:
    issued_at = int(time.time() if now is None else now)
    payload: dict[str, Any] = claims.model_dump(mode="json", exclude_none=True)
    payload.update(sub=claims.subject, iss=issuer, aud=AUDIENCE, iat=issued_at, exp=issued_at + ttl_seconds)
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def _decode(token: str, *, secret: str, kind: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            leeway=LEEWAY_SECONDS,
            options={"require": list(_REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidIdentityError(f"The {kind} token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidIdentityError(f"The {kind} token is invalid.") from exc


def verify_identity_token(token: str, *, secret: str) -> IdentityClaims:
    """The claims of a valid token; ``InvalidIdentityError`` for anything else (the reason is in ``detail``)."""
    payload = _decode(token, secret=secret, kind="identity")
    try:
        return IdentityClaims.model_validate(
            {key: value for key, value in payload.items() if key in IdentityClaims.model_fields}
        )
    except ValidationError as exc:
        raise InvalidIdentityError("The identity token's claims are malformed.") from exc


def mint_service_token(
    *, secret: str, issuer: str, ttl_seconds: int = TOKEN_TTL_SECONDS, now: float | None = None
) -> str:
    """A token that proves only "an internal service is calling" (no tenant, no scopes).

    For calls made before there is a customer identity, e.g. the gateway asking auth to verify an API key. It
    has no ``tenant_id``, so ``verify_identity_token`` refuses it: it can never stand in for a customer.
    """
    issued_at = int(time.time() if now is None else now)
    payload = {
        "sub": f"service:{issuer}",
        "principal": "service",
        "iss": issuer,
        "aud": AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_service_token(token: str, *, secret: str, allowed_issuers: tuple[str, ...]) -> str:
    """The calling service's name if ``token`` is a valid service token from one of ``allowed_issuers``."""
    payload = _decode(token, secret=secret, kind="service")
    issuer = payload.get("iss")
    if payload.get("principal") != "service" or issuer not in allowed_issuers:
        raise MissingScopeError("This endpoint is reserved to internal services.")
    return str(issuer)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def check_scopes(claims: IdentityClaims, required: tuple[Scope, ...]) -> None:
    """Raise ``MissingScopeError`` (403) unless ``claims`` grant every scope in ``required``."""
    missing = [scope for scope in required if scope not in claims.scopes]
    if missing:
        raise MissingScopeError(
            "This credential lacks the scope(s) " + ", ".join(missing) + ".",
            required_scopes=[scope.value for scope in required],
        )


def check_access(claims: IdentityClaims, access: Access) -> None:
    """Raise 403 unless ``claims`` are of a kind ``access`` admits and carry its scopes."""
    if claims.principal not in access.principals:
        raise PrincipalNotAllowedError(
            f"This endpoint is not for {claims.principal} credentials: {access.description}.",
            allowed_principals=sorted(access.principals),
        )
    check_scopes(claims, access.scopes)


def bind_identity(claims: IdentityClaims, token: str) -> None:
    """Make ``claims`` the request's identity: log fields, and the token forwarded downstream."""
    current_identity_token.set(token)
    bind_log_context(tenant_id=str(claims.tenant_id), principal=claims.principal)


def _verified_identity(request: Request) -> IdentityClaims:
    """The request's identity claims, bound to its logs and downstream calls (401 without a valid token)."""
    token = bearer_token(request)
    if token is None:
        raise InvalidIdentityError("An internal identity token is required (Authorization: Bearer ...).")
    secret = request.app.state.settings.internal_token_secret.get_secret_value()
    claims = verify_identity_token(token, secret=secret)
    bind_identity(claims, token)
    return claims


def require_scopes(*scopes: Scope) -> Callable[[Request], Awaitable[IdentityClaims]]:
    """A FastAPI dependency verifying the request's identity token and the scopes the endpoint needs.

    Use as ``identity: Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_READ))]``.
    The secret is read from ``app.state.settings`` (set by ``create_app``).
    """

    async def dependency(request: Request) -> IdentityClaims:
        claims = _verified_identity(request)
        check_scopes(claims, scopes)
        return claims

    return dependency


def require_access(access: Access) -> Callable[[Request], Awaitable[IdentityClaims]]:
    """Like ``require_scopes``, with the credential kinds of ``access`` checked too (defence behind the gateway)."""

    async def dependency(request: Request) -> IdentityClaims:
        claims = _verified_identity(request)
        check_access(claims, access)
        return claims

    return dependency


def require_service_caller(*allowed_issuers: str) -> Callable[[Request], Awaitable[str]]:
    """A FastAPI dependency admitting only a service token from ``allowed_issuers``; returns the caller's name."""

    async def dependency(request: Request) -> str:
        token = bearer_token(request)
        if token is None:
            raise InvalidIdentityError("A service token is required (Authorization: Bearer ...).")
        secret = request.app.state.settings.internal_token_secret.get_secret_value()
        return verify_service_token(token, secret=secret, allowed_issuers=allowed_issuers)

    return dependency
