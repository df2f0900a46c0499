"""FastAPI dependencies of the sessions routes: the service, and the identity each route requires."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.contracts.access import AGENT_DESK
from app.contracts.api import Scope
from app.contracts.internal import IdentityClaims
from app.core.identity import require_access, require_scopes
from app.sessions.service import SessionsService


async def _sessions_service(request: Request) -> SessionsService:  # async: a plain def runs in a thread per request
    return request.app.state.sessions_service


Service = Annotated[SessionsService, Depends(_sessions_service)]
Reader = Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_READ))]
Writer = Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_WRITE))]
#: People only: an API key's identity token is refused here even if it names the agent scope.
Agent = Annotated[IdentityClaims, Depends(require_access(AGENT_DESK))]
