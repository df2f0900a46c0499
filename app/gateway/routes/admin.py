"""Tenant administration (admin user token, or an API key with the admin scope): keys, users, assistant, audit.

Every change here is recorded in the audit trail (``audited``); the trail itself is read-only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from app.contracts.access import ADMIN
from app.contracts.api import (
    MAX_PAGE_SIZE,
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    AssistantProfile,
    AuditChain,
    AuditEventPage,
    User,
    UserCreate,
)
from app.contracts.safety import SafetyPolicy
from app.gateway.audit_trail import audited
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["admin"])
Admin = Annotated[Caller, Depends(authenticated(ADMIN))]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, responses=problem_responses())
async def create_api_key(body: ApiKeyCreate, admin: Admin, gateway: GatewayDep) -> Response:
    """Create a key. The secret is in this response only: store it now."""
    return await audited(
        gateway,
        admin,
        "api_key.create",
        forward(gateway.auth, "POST", "/v1/api-keys", body=body),
        target_type="api_key",
    )


@router.get("/api-keys", response_model=list[ApiKey], responses=problem_responses())
async def list_api_keys(
    _admin: Admin,
    gateway: GatewayDep,
    prefix: Annotated[str | None, Query(max_length=32, description="Only keys whose prefix starts with this.")] = None,
) -> Response:
    return await forward(gateway.auth, "GET", "/v1/api-keys", params={"prefix": prefix})


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def revoke_api_key(key_id: UUID, admin: Admin, gateway: GatewayDep) -> Response:
    """Revoke at once: the next request with this key is refused, on every gateway."""
    revoking = forward(gateway.auth, "DELETE", f"/v1/api-keys/{key_id}")
    return await audited(gateway, admin, "api_key.revoke", revoking, target_type="api_key", target_id=key_id)


@router.post("/users", status_code=201, response_model=User, responses=problem_responses(409))
async def create_user(body: UserCreate, admin: Admin, gateway: GatewayDep) -> Response:
    creating = forward(gateway.auth, "POST", "/v1/users", body=body)
    return await audited(gateway, admin, f"user.create.{body.role.value}", creating, target_type="user")


@router.get("/assistant-profile", response_model=AssistantProfile, responses=problem_responses())
async def get_assistant_profile(_admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.chat, "GET", internal_path("/v1/assistant-profile"))


@router.put("/assistant-profile", response_model=AssistantProfile, responses=problem_responses())
async def put_assistant_profile(body: AssistantProfile, admin: Admin, gateway: GatewayDep) -> Response:
    updating = forward(gateway.chat, "PUT", internal_path("/v1/assistant-profile"), body=body)
    return await audited(gateway, admin, "assistant_profile.update", updating, target_type="assistant_profile")


@router.get("/audit-events", response_model=AuditEventPage, responses=problem_responses())
async def list_audit_events(
    *,
    _admin: Admin,
    gateway: GatewayDep,
    action: Annotated[str | None, Query(max_length=64, description="e.g. api_key.revoke")] = None,
    actor_id: Annotated[str | None, Query(max_length=128, description="A user's or API key's id.")] = None,
    since: Annotated[datetime | None, Query(description="Events at or after this instant.")] = None,
    until: Annotated[datetime | None, Query(description="Events before this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=20, description="`next_cursor` of the previous page.")] = None,
) -> Response:
    """The tenant's audit trail, oldest first: who did what, when, from where, under which request id."""
    params = {"action": action, "actor_id": actor_id, "limit": limit, "cursor": cursor}
    params |= {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    return await forward(gateway.auth, "GET", "/v1/audit-events", params=params)


@router.get("/audit-events/verification", response_model=AuditChain, responses=problem_responses())
async def verify_audit_events(_admin: Admin, gateway: GatewayDep) -> Response:
    """Recompute the tenant's hash chain: `intact`, or the first event (`broken_at_seq`) that was altered."""
    return await forward(gateway.auth, "GET", "/v1/audit-events/verification")


@router.get("/safety-policy", response_model=SafetyPolicy, responses=problem_responses())
async def get_safety_policy(_admin: Admin, gateway: GatewayDep) -> Response:
    """PII handling and guardrails of the tenant's assistant (defaults until first set)."""
    return await forward(gateway.chat, "GET", internal_path("/v1/safety-policy"))


@router.put("/safety-policy", response_model=SafetyPolicy, responses=problem_responses())
async def put_safety_policy(body: SafetyPolicy, admin: Admin, gateway: GatewayDep) -> Response:
    updating = forward(gateway.chat, "PUT", internal_path("/v1/safety-policy"), body=body)
    return await audited(gateway, admin, "safety_policy.update", updating, target_type="safety_policy")
