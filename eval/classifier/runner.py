"""Runs the golden set through the classifier exactly as chat calls it in a conversation.

The request is chat's own (``EngineClient.classify`` with ``CLASSIFY_INSTRUCTION`` and ``CLASSIFIER_SCHEMA``):
the same instruction, structured-output schema, token cap, timeout and answer parsing, so a figure here is what a
customer's message gets in production, and a change to the prompt is evaluated by rerunning this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from pydantic import SecretStr

from app.chat.engine import EngineClient
from app.chat.escalation import CLASSIFIER_SCHEMA, classification_of
from app.chat.settings import ChatSettings
from app.chat.turns import CLASSIFY_INSTRUCTION
from eval.classifier.dataset import LabelledMessage
from eval.classifier.scoring import Prediction
from eval.engines import EngineTarget


async def classify_all(
    items: Sequence[LabelledMessage], target: EngineTarget, *, concurrency: int, timeout_seconds: float
) -> list[Prediction]:
    """One prediction per item, in order; at most ``concurrency`` requests in flight."""
    settings = ChatSettings(
        engine_url=target.base_url,
        engine_api_key=SecretStr(target.api_key) if target.api_key else None,
        classifier_timeout_seconds=timeout_seconds,
        # An evaluation wants every item asked: a circuit opening after a few failures would score the rest as
        # unanswered without asking.
        circuit_failure_threshold=10_000,
    )
    client = EngineClient(settings)
    gate = asyncio.Semaphore(concurrency)

    async def one(item: LabelledMessage) -> Prediction:
        async with gate:
            started = time.perf_counter()
            answer, _usage = await client.classify(target.model, CLASSIFY_INSTRUCTION, item.text, CLASSIFIER_SCHEMA)
            took = (time.perf_counter() - started) * 1000
        labels = classification_of(answer)
        return Prediction(
            intent=labels.intent if labels else None, emotion=labels.emotion if labels else None, latency_ms=took
        )

    try:
        return list(await asyncio.gather(*(one(item) for item in items)))
    finally:
        await client.aclose()
