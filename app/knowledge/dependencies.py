"""FastAPI dependencies of the knowledge routes: the components, and the identity each route requires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.contracts.access import ADMIN
from app.contracts.api import Scope
from app.contracts.internal import IdentityClaims
from app.core.identity import require_access, require_scopes
from app.knowledge.articles import ArticleService
from app.knowledge.retrieval import Retriever


@dataclass(frozen=True)
class Knowledge:
    articles: ArticleService
    retriever: Retriever


async def _knowledge(request: Request) -> Knowledge:  # async: a plain def runs in a thread per request
    return request.app.state.knowledge


KnowledgeDep = Annotated[Knowledge, Depends(_knowledge)]
#: Tenant admins (users with the admin role, or API keys with the admin scope) manage the knowledge base.
Admin = Annotated[IdentityClaims, Depends(require_scopes(Scope.ADMIN))]
#: Data rights: as ``Admin``, with the credential kinds of the shared rule checked too.
DataAdmin = Annotated[IdentityClaims, Depends(require_access(ADMIN))]
#: Chat retrieves and records gaps with the customer's own identity (its tenant is the filter).
Customer = Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_WRITE))]
