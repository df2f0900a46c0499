"""The audit trail: every admin and agent action recorded with who, what, when, where and the request id;
readable by tenant admins with filters and pages; append-only in the database; tampering shows in the chain."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app.auth import audit
from app.core.db import Database, utcnow
from tests.app.gateway.conftest import RunningService, Tenant, agent_headers
from tests.app.harness import PostgresDatabase


async def trail(gateway: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await gateway.get("/v1/audit-events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_admin_and_agent_actions_are_recorded_and_readable_by_admins_only(
    gateway: httpx.AsyncClient, acme: Tenant
) -> None:
    admin = await agent_headers(gateway, acme, "boss@acme.test", role="admin")  # recorded, by the tenant's key
    created = await gateway.post("/v1/api-keys", json={"name": "ci"}, headers=admin)
    revoked = await gateway.delete(f"/v1/api-keys/{created.json()['id']}", headers=admin)
    agent = await agent_headers(gateway, acme, "ana@acme.test")
    conversation = (await gateway.post("/v1/conversations", json={}, headers=acme.headers)).json()["id"]
    await gateway.post(f"/v1/conversations/{conversation}/handoff", json={}, headers=acme.headers)
    claimed = await gateway.post(
        f"/v1/agent/conversations/{conversation}/claim", headers={**agent, "X-Forwarded-For": "203.0.113.5"}
    )
    assert claimed.status_code == 200

    events = (await trail(gateway, admin))["items"]
    assert [event["action"] for event in events] == [
        "user.create.admin",
        "api_key.create",
        "api_key.revoke",
        "user.create.agent",
        "conversation.claim",
    ]
    assert [event["seq"] for event in events] == [1, 2, 3, 4, 5]
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(events))
    first, revoke, claim = events[0], events[2], events[4]
    assert (first["actor_kind"], first["actor_id"]) == ("api_key", str(acme.key_id))
    assert (revoke["actor_kind"], revoke["actor_role"], revoke["outcome"]) == ("user", "admin", 204)
    assert (revoke["target_type"], revoke["target_id"]) == ("api_key", created.json()["id"])
    assert revoke["request_id"] == revoked.headers["x-request-id"]
    assert events[1]["target_id"] == created.json()["id"]  # a created resource is named from the answer
    assert (claim["actor_role"], claim["target_id"], claim["client_ip"]) == ("agent", conversation, "203.0.113.5")

    assert len((await trail(gateway, admin, since="2000-01-01T00:00:00"))["items"]) == 5  # no offset: UTC
    assert (await trail(gateway, admin, until="2000-01-01T00:00:00+00:00"))["items"] == []
    only_revokes = await trail(gateway, admin, action="api_key.revoke")
    assert [event["seq"] for event in only_revokes["items"]] == [3]
    page = await trail(gateway, admin, limit=2)
    second = await trail(gateway, admin, limit=2, cursor=page["next_cursor"])
    assert [event["seq"] for event in page["items"] + second["items"]] == [1, 2, 3, 4]
    chain = (await gateway.get("/v1/audit-events/verification", headers=admin)).json()
    assert chain == {"intact": True, "events": 5, "anchor": "0" * 64, "broken_at_seq": None}
    assert (await gateway.get("/v1/audit-events", headers=agent)).status_code == 403
    for method in ("PUT", "PATCH", "DELETE"):  # no route edits the trail
        assert (await gateway.request(method, f"/v1/audit-events/{events[0]['id']}", headers=admin)).status_code in (
            404,
            405,
        )


async def test_the_database_refuses_edits_and_a_forged_row_breaks_the_chain(
    gateway: httpx.AsyncClient, acme: Tenant, auth_database: PostgresDatabase
) -> None:
    for name in ("a", "b", "c"):
        assert (await gateway.post("/v1/api-keys", json={"name": name}, headers=acme.headers)).status_code == 201
    connection = await asyncpg.connect(auth_database.dsn)
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            await connection.execute("UPDATE auth.audit_events SET actor_id = 'someone else'")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            await connection.execute("DELETE FROM auth.audit_events")
        # Someone with the table owner's rights switches the guard off and rewrites history: the chain shows it.
        await connection.execute("ALTER TABLE auth.audit_events DISABLE TRIGGER audit_events_append_only")
        await connection.execute(
            "UPDATE auth.audit_events SET target_id = 'forged' WHERE tenant_id = $1 AND seq = 2", acme.id
        )
        await connection.execute("ALTER TABLE auth.audit_events ENABLE TRIGGER audit_events_append_only")
    finally:
        await connection.close()
    chain = (await gateway.get("/v1/audit-events/verification", headers=acme.headers)).json()
    assert (chain["intact"], chain["events"], chain["broken_at_seq"]) == (False, 1, 2)


async def test_retention_removes_old_events_per_tenant_and_the_rest_still_verifies(
    gateway: httpx.AsyncClient, acme: Tenant, globex: Tenant, auth_service: RunningService
) -> None:
    for tenant in (acme, globex):
        assert (await gateway.post("/v1/api-keys", json={"name": "k"}, headers=tenant.headers)).status_code == 201
    database: Database = auth_service.app.state.database
    async with database.transaction() as session:
        deleted = await audit.enforce_retention(
            session, default_days=30, tenant_days={globex.id: 3650}, now=utcnow() + timedelta(days=31)
        )
    assert deleted == 1
    assert (await trail(gateway, acme.headers))["items"] == []
    assert len((await trail(gateway, globex.headers))["items"]) == 1  # its own, longer retention
    assert (await gateway.post("/v1/api-keys", json={"name": "later"}, headers=acme.headers)).status_code == 201
    chain = (await gateway.get("/v1/audit-events/verification", headers=acme.headers)).json()
    assert (chain["intact"], chain["events"], chain["broken_at_seq"]) == (True, 1, None)
    assert chain["anchor"] != "0" * 64  # the chain now starts after the removed event
