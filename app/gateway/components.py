"""Everything a gateway request uses, built once per process (pooled clients, store, limiter, caches)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.internal_client import InternalClient
from app.gateway.admission import Gatekeeper
from app.gateway.agent_queue import QueueWatch
from app.gateway.credentials import Authenticator
from app.gateway.engine_admission import EngineAdmission
from app.gateway.jwks import JwksCache
from app.gateway.login_throttle import LoginThrottle
from app.gateway.store import GatewayStore
from app.gateway.visitor_throttle import VisitorSessionThrottle


@dataclass(frozen=True)
class Gateway:
    internal_secret: str
    auth: InternalClient
    sessions: InternalClient
    chat: InternalClient
    knowledge: InternalClient
    store: GatewayStore
    jwks: JwksCache
    authenticator: Authenticator
    gatekeeper: Gatekeeper
    login_throttle: LoginThrottle
    visitor_throttle: VisitorSessionThrottle
    engine_admission: EngineAdmission
    turn_model: str
    agent_queue: QueueWatch = field(default_factory=QueueWatch)

    async def aclose(self) -> None:
        await self.gatekeeper.drain()
        for client in (self.auth, self.sessions, self.chat, self.knowledge):
            await client.aclose()
        await self.store.aclose()
