"""FastAPI dependencies of the auth routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.service import AuthService
from app.contracts.api import Scope
from app.contracts.internal import IdentityClaims
from app.core.identity import require_scopes, require_service_caller


async def _auth_service(request: Request) -> AuthService:
    # async on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, a costly hop per request.
    return request.app.state.auth_service


Service = Annotated[AuthService, Depends(_auth_service)]
AdminIdentity = Annotated[IdentityClaims, Depends(require_scopes(Scope.ADMIN))]
WidgetIssuerIdentity = Annotated[IdentityClaims, Depends(require_scopes(Scope.WIDGET_ISSUE))]
#: Only the gateway verifies keys (it is the only service that sees customer credentials).
GatewayCaller = Annotated[str, Depends(require_service_caller("gateway"))]
