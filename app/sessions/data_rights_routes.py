"""Sessions' internal data-rights routes (the gateway's ``/v1/data-subjects/{customer_ref}`` calls them; admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from app.contracts.access import ADMIN
from app.contracts.api import Reference
from app.contracts.data_rights import ConversationIds, SessionsErasure, SessionsExport
from app.contracts.internal import IdentityClaims
from app.core.db import Database, DbSession
from app.core.identity import require_access
from app.events.runtime import EventsRuntime
from app.sessions import data_rights

router = APIRouter(prefix="/internal/v1/data-subjects", tags=["data rights"])
Admin = Annotated[IdentityClaims, Depends(require_access(ADMIN))]
CustomerRef = Annotated[Reference, Path()]


@router.get("/{customer_ref}")
async def export(customer_ref: CustomerRef, identity: Admin, session: DbSession) -> SessionsExport:
    return await data_rights.export(session, identity.tenant_id, customer_ref)


@router.get("/{customer_ref}/conversations")
async def conversation_ids(customer_ref: CustomerRef, identity: Admin, session: DbSession) -> ConversationIds:
    return ConversationIds(
        conversation_ids=await data_rights.conversation_ids(session, identity.tenant_id, customer_ref)
    )


@router.delete("/{customer_ref}")
async def erase(customer_ref: CustomerRef, identity: Admin, request: Request) -> SessionsErasure:
    """Delete the end user's conversations and their events: the rows (committed), then the stream's copies."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        ids = await data_rights.conversation_ids(session, identity.tenant_id, customer_ref)
        counts = await data_rights.erase(session, identity.tenant_id, ids)
    events: EventsRuntime | None = request.app.state.events
    if events is None:
        return counts
    swept = await events.forget(identity.tenant_id, [data_rights.event_fragment(i) for i in ids])
    return counts.model_copy(update={"stream_messages": swept})
