"""Recording administrative and agent actions in the audit trail (kept by auth), from the one place that sees them all.

Every such action passes through the gateway, which knows who (the verified identity), from where (the client
address), under which request id, and how it ended (the status). The route wraps its forwarding call in
``audited``; the event is appended after the action, whatever its outcome (a refused claim is worth knowing
too). An append that fails is logged as an error and does not undo the action already taken.
"""

from __future__ import annotations

from collections.abc import Awaitable

import orjson
from fastapi import Response

from app.contracts.internal import AuditEventCreate, IdentityClaims
from app.core.errors import ProblemError
from app.core.logging import get_logger
from app.gateway.components import Gateway
from app.gateway.dependencies import Caller

APPEND_PATH = "/internal/v1/audit-events"
log = get_logger(__name__)


def event_of(
    caller: Caller, action: str, target_type: str | None, target_id: str | None, outcome: int
) -> AuditEventCreate:
    identity: IdentityClaims = caller.identity
    return AuditEventCreate(
        tenant_id=identity.tenant_id,
        actor_kind=identity.principal,
        actor_id=identity.subject,
        actor_role=identity.role.value,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        request_id=caller.request_id,
        client_ip=caller.client_ip,
    )


async def record(gateway: Gateway, event: AuditEventCreate) -> None:
    try:
        await gateway.auth.request(
            "POST", APPEND_PATH, json=event, headers=gateway.authenticator.service_token.header()
        )
    except ProblemError as error:
        log.error("audit_append_failed", action=event.action, status=error.status)


async def audited(
    gateway: Gateway,
    caller: Caller,
    action: str,
    forwarding: Awaitable[Response],
    *,
    target_type: str | None = None,
    target_id: object = None,
) -> Response:
    """Run ``forwarding`` (the action) and append its audit event, refused or not.

    Without ``target_id``, a created resource's ``id`` is read from the answer (a new key, a new user).
    """
    target = None if target_id is None else str(target_id)
    try:
        response = await forwarding
    except ProblemError as error:
        await record(gateway, event_of(caller, action, target_type, target, error.status))
        raise
    if target is None and target_type is not None and response.status_code == 201:
        created = orjson.loads(bytes(response.body))
        target = str(created.get("id")) if isinstance(created, dict) and created.get("id") else None
    await record(gateway, event_of(caller, action, target_type, target, response.status_code))
    return response
