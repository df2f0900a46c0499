"""Tenant administration (admin user token, or an API key with the admin scope): keys, users, assistant."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from app.contracts.access import ADMIN
from app.contracts.api import ApiKey, ApiKeyCreate, ApiKeyCreated, AssistantProfile, User, UserCreate
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["admin"])
Admin = Annotated[Caller, Depends(authenticated(ADMIN))]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, responses=problem_responses())
async def create_api_key(body: ApiKeyCreate, _admin: Admin, gateway: GatewayDep) -> Response:
    """Create a key. The secret is in this response only: store it now."""
    return await forward(gateway.auth, "POST", "/v1/api-keys", body=body)


@router.get("/api-keys", response_model=list[ApiKey], responses=problem_responses())
async def list_api_keys(
    _admin: Admin,
    gateway: GatewayDep,
    prefix: Annotated[str | None, Query(max_length=32, description="Only keys whose prefix starts with this.")] = None,
) -> Response:
    return await forward(gateway.auth, "GET", "/v1/api-keys", params={"prefix": prefix})


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def revoke_api_key(key_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    """Revoke at once: the next request with this key is refused, on every gateway."""
    return await forward(gateway.auth, "DELETE", f"/v1/api-keys/{key_id}")


@router.post("/users", status_code=201, response_model=User, responses=problem_responses(409))
async def create_user(body: UserCreate, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.auth, "POST", "/v1/users", body=body)


@router.get("/assistant-profile", response_model=AssistantProfile, responses=problem_responses())
async def get_assistant_profile(_admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.chat, "GET", internal_path("/v1/assistant-profile"))


@router.put("/assistant-profile", response_model=AssistantProfile, responses=problem_responses())
async def put_assistant_profile(body: AssistantProfile, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.chat, "PUT", internal_path("/v1/assistant-profile"), body=body)
