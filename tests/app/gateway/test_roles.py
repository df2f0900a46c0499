"""Roles hold: every gateway route, called with a real credential of every kind, admits exactly whom docs/roles.md says.

The credentials are real: API keys in auth's database, widget tokens and user logins issued by the real auth
service. Bodies are empty and ids random, so an admitted call ends in 404/422/200, never in 401/403.
"""

from __future__ import annotations

import re
from uuid import uuid4

import httpx

from app.contracts.access import API_KEY_SCOPES, CallerKind
from app.contracts.api import DEFAULT_KEY_SCOPES, Scope, Tier
from app.gateway.roles import DOC_PATH, endpoints, render
from tests.app.gateway.conftest import RunningService, agent_headers, provision


async def credentials(gateway: httpx.AsyncClient, auth_service: RunningService) -> dict[CallerKind, dict[str, str]]:
    """One real credential of every caller kind in one tenant."""
    key = await provision(auth_service, "roles", Tier.ENTERPRISE, scopes=DEFAULT_KEY_SCOPES)
    admin_key = await provision(auth_service, "roles-admin", Tier.ENTERPRISE, scopes=API_KEY_SCOPES)
    widget = await gateway.post("/v1/widget-tokens", json={"end_user_id": "visitor-1"}, headers=key.headers)
    assert widget.status_code == 200, widget.text
    return {
        CallerKind.ANONYMOUS: {},
        CallerKind.END_USER: {"Authorization": f"Bearer {widget.json()['access_token']}"},
        CallerKind.API_KEY: key.headers,
        CallerKind.ADMIN_KEY: admin_key.headers,
        CallerKind.AGENT: await agent_headers(gateway, admin_key, "agent@roles.test"),
        CallerKind.ADMIN: await agent_headers(gateway, admin_key, "admin@roles.test", role="admin"),
    }


def concrete(path: str) -> str:
    """The path with every parameter filled: ids with a random UUID, names with an unknown name."""
    return re.sub(r"\{(\w+)\}", lambda match: str(uuid4()) if match.group(1).endswith("_id") else "unknown", path)


async def test_every_route_admits_exactly_the_kinds_the_table_lists(
    gateway: httpx.AsyncClient, gateway_app: RunningService, auth_service: RunningService
) -> None:
    by_kind = await credentials(gateway, auth_service)
    routes = list(endpoints(gateway_app.app))
    assert len(routes) > 20
    mismatches = []
    for endpoint in routes:
        path = concrete(endpoint.path)
        for kind, headers in by_kind.items():
            body = None if endpoint.method in ("GET", "DELETE") else {}
            request = gateway.build_request(endpoint.method, path, json=body, headers=headers)
            response = await gateway.send(request, stream=True)  # a live stream (SSE) is judged by its status
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                await response.aclose()
            else:
                await response.aread()
            refused = response.status_code in (401, 403)
            if refused == endpoint.allows(kind):
                mismatches.append(
                    (endpoint.method, endpoint.path, kind.value, response.status_code, response.text[:120])
                )
            if refused:
                assert response.status_code == (401 if kind is CallerKind.ANONYMOUS else 403), (endpoint, kind)
    assert mismatches == []


async def test_an_api_key_cannot_act_as_an_agent(gateway: httpx.AsyncClient, auth_service: RunningService) -> None:
    legacy = await provision(auth_service, "legacy", Tier.ENTERPRISE, scopes=list(Scope))  # stored with `agent`
    refused = await gateway.post(f"/v1/agent/conversations/{uuid4()}/claim", headers=legacy.headers)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"] == "/problems/credential-kind-not-allowed"
    assert problem["allowed_principals"] == ["user"]
    assert problem["request_id"]

    created = await gateway.post(
        "/v1/api-keys", json={"name": "desk bot", "scopes": ["agent", "conversations:read"]}, headers=legacy.headers
    )
    assert created.status_code == 422
    assert "agent actions need a person" in created.text


def test_the_roles_page_is_current(gateway_app: RunningService) -> None:
    assert DOC_PATH.read_text() == render(gateway_app.app), "docs/roles.md is stale: run `make roles-doc`"
