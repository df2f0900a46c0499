"""What a request that reaches the engine holds while it runs: its stream lease, its token reservation, its engine
slot, taken in that order (cheap refusals first) and given back together however it ends.

The order matters: rate limits and the stream cap refuse before anything is reserved; the quota is reserved
before the request queues for the engine (a request shed by admission control gives its reservation back at once);
and the engine slot is held for the whole stream, so ``running`` is what the engines actually serve.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.contracts.api import Tier
from app.contracts.internal import TOKEN_BUDGET_HEADER
from app.gateway.admission import StreamLease, TokenReservation
from app.gateway.components import Gateway
from app.gateway.dependencies import Caller
from app.gateway.engine_admission import Ticket


@dataclass
class ModelCall:
    gateway: Gateway
    caller: Caller
    lease: StreamLease | None
    reservation: TokenReservation | None
    ticket: Ticket | None
    _ended: bool = False

    @property
    def headers(self) -> dict[str, str]:
        """For chat: the tokens this request may spend (none without a quota)."""
        return {TOKEN_BUDGET_HEADER: str(self.reservation.granted)} if self.reservation is not None else {}

    def first_token(self) -> None:
        """The answer's first token reached the client (admission control's adaptive limit learns from it)."""
        if self.ticket is not None:
            self.ticket.first_token()

    async def end(self, used: int | None) -> None:
        """Give everything back and settle the reservation to ``used`` tokens (None: unknown, keep it). Once."""
        if self._ended:
            return
        self._ended = True
        if self.ticket is not None:
            self.ticket.release()
        self.gateway.gatekeeper.settle(self.caller.identity, self.reservation, used)
        if self.lease is not None:
            await self.lease.release()


async def begin_model_call(gateway: Gateway, caller: Caller, *, model: str, lease: StreamLease | None) -> ModelCall:
    """Reserve the quota, then wait for (or be refused) an engine slot; on refusal, give back what was taken."""
    call = ModelCall(gateway, caller, lease, reservation=None, ticket=None)
    identity = caller.identity
    try:
        call.reservation = await gateway.gatekeeper.reserve(identity)
        call.ticket = await gateway.engine_admission.admit(model, identity.tenant_id, identity.tier or Tier.FREE)
    except BaseException:
        await call.end(0)
        raise
    return call
