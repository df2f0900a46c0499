"""Embeddings from the serving tier: vLLM's OpenAI-compatible ``/v1/embeddings`` through the ``openai`` client.

Vectors are L2-normalised here (vLLM's pooling runner normalises already for sentence-transformers models; the
simulator does too; normalising again is cheap and makes cosine a plain dot product everywhere).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import httpx
import openai

from app.contracts import problems
from app.core.errors import ProblemError
from app.core.logging import get_logger
from app.knowledge.models import EMBEDDING_DIMENSIONS
from app.knowledge.settings import KnowledgeSettings

log = get_logger(__name__)


class EmbeddingUnavailableError(ProblemError):
    """The embedding model cannot be reached: nothing is indexed or stored (the write is retried as a whole)."""

    problem = problems.DEPENDENCY_UNAVAILABLE


def normalized(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else [0.0 for _ in vector]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two normalised vectors (their dot product)."""
    return sum(x * y for x, y in zip(a, b, strict=True))


class EmbeddingClient:
    def __init__(self, settings: KnowledgeSettings, *, http_client: httpx.AsyncClient | None = None) -> None:
        """``http_client`` replaces the default transport (tests serve the simulator in-process)."""
        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else "unused"
        self._client = openai.AsyncOpenAI(
            base_url=settings.embedding_url,
            api_key=key,
            timeout=settings.embedding_timeout_seconds,
            max_retries=1,
            # it accepts an httpx.AsyncClient at run time, though its signature names only httpx2's (as chat's)
            http_client=cast("Any", http_client),
        )
        self._model = settings.embedding_model
        self._batch = settings.embedding_batch_size

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            batch = list(texts[start : start + self._batch])
            try:
                response = await self._client.embeddings.create(model=self._model, input=batch, encoding_format="float")
            except openai.APIError as exc:
                log.warning("embedding_failed", error=type(exc).__name__, model=self._model)
                raise EmbeddingUnavailableError(
                    "The embedding model cannot be reached right now; nothing was changed. Retry shortly."
                ) from exc
            for item in sorted(response.data, key=lambda d: d.index):
                if len(item.embedding) != EMBEDDING_DIMENSIONS:
                    raise EmbeddingUnavailableError(
                        f"The embedding model returned {len(item.embedding)} dimensions; the index holds "
                        f"{EMBEDDING_DIMENSIONS}. Serve a {EMBEDDING_DIMENSIONS}-dimension model."
                    )
                vectors.append(normalized(item.embedding))
        return vectors

    async def embed_one(self, text: str) -> list[float]:
        return (await self.embed([text]))[0]

    async def aclose(self) -> None:
        await self._client.close()
