"""Token counters from an engine's usage: per model (capacity) and per tenant (the cost rules share GPU spend by it)."""

from __future__ import annotations

from uuid import UUID

from app.core.metrics import METRICS

_KINDS = (("prompt", "prompt_tokens"), ("completion", "completion_tokens"))


def count_tokens(model: str, tenant_id: UUID, usage: dict[str, int]) -> None:
    for kind, field in _KINDS:
        METRICS.tokens_total.labels(model=model, kind=kind).inc(usage[field])
        METRICS.tenant_tokens_total.labels(tenant=str(tenant_id), kind=kind).inc(usage[field])
