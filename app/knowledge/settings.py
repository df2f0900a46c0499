"""Knowledge settings (``HELPLINE_*``): database, the embedding model, retrieval defaults."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from app.core.settings import DatabaseSettings

#: Calibrated by ``make eval-retrieval`` on all-MiniLM-L6-v2 (the embedding model the stacks serve): the best-passage
#: cosine that best separates the labelled questions the demo help centre answers from those it does not (balanced
#: accuracy; README "Retrieval quality"). Another embedding model needs its own figure; per tenant it can be changed.
DEFAULT_MIN_SIMILARITY = 0.43
#: The same calibration on the simulator's hashed embeddings (``make run`` and the tests serve those): its cosines
#: are lower for the same texts, so it needs its own threshold.
SIMULATED_MIN_SIMILARITY = 0.19


class KnowledgeSettings(DatabaseSettings):
    service_name: ClassVar[str] = "knowledge"

    database_url: str = Field(default="sqlite+aiosqlite:///var/knowledge.db")
    embedding_url: str = Field(
        default="http://127.0.0.1:8084/v1",
        description="OpenAI-compatible base URL serving the embedding model (the router, or one vLLM).",
    )
    embedding_api_key: SecretStr | None = Field(default=None, description="vLLM's --api-key; unset when it has none.")
    embedding_model: str = Field(default="helpline-embedding", description="Served name of the embedding model.")
    embedding_timeout_seconds: float = Field(default=10.0, gt=0, description="One embeddings request.")
    embedding_batch_size: int = Field(default=64, ge=1, le=512, description="Passages per embeddings request.")
    min_similarity: float = Field(
        default=DEFAULT_MIN_SIMILARITY,
        ge=0.0,
        le=1.0,
        description="Default confidence threshold of tenants without their own: below it, 'I don't know'.",
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion's k (60 as in Cormack et al. 2009).")
    candidates_per_method: int = Field(
        default=20, ge=1, le=200, description="Results each method contributes to the fusion."
    )
