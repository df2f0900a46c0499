"""Chat settings (``HELPLINE_*``): the engine, its deadlines and circuit, sessions, and the default assistant."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from app.core.settings import PerMessageDatabaseSettings

DEFAULT_SYSTEM_PROMPT = (
    "You are a friendly, concise customer-service assistant. Answer from what you know about the customer's "
    "question; if you cannot help, say so and offer to connect them with a human agent. Never invent order "
    "numbers, prices or policies."
)


class ChatSettings(PerMessageDatabaseSettings):
    service_name: ClassVar[str] = "chat"

    database_url: str = Field(default="sqlite+aiosqlite:///var/chat.db")
    sessions_url: str = Field(default="http://127.0.0.1:8082", description="The sessions service.")

    # --- the engine -----------------------------------------------------------------------------------------------
    engine_url: str = Field(
        default="http://127.0.0.1:8084/v1",
        description="OpenAI-compatible base URL: the router (session affinity), or one vLLM directly.",
    )
    engine_api_key: SecretStr | None = Field(
        default=None, description="vLLM's --api-key (from the serving stack's Secret); unset when it has none."
    )
    chat_model: str = Field(default="helpline-chat", description="Served model name of the default assistant.")
    public_chat_model: str = Field(
        default="helpline-chat",
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="The name clients use for the default assistant on /v1/models and /v1/chat/completions: "
        "the same locally and in every cluster, whatever chat_model the engine serves.",
    )
    classifier_model: str | None = Field(
        default="helpline-classifier",
        description="Served model name of the classifier; empty: no classification (and no escalation rules).",
    )
    max_model_len: int = Field(default=8192, ge=256, description="The chat model's --max-model-len.")
    prompt_margin_tokens: int = Field(
        default=64, ge=0, description="Context kept free beyond the estimate (the estimate is not a tokenizer)."
    )
    chars_per_token: float = Field(
        default=3.0,
        gt=0.5,
        le=8,
        description="Characters per token for the estimate; below English's ~4 so prompts err on the short side.",
    )
    history_limit: int = Field(default=50, ge=1, le=500, description="Most messages asked of sessions per turn.")
    engine_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    engine_first_token_timeout_seconds: float = Field(
        default=30.0, gt=0, description="From sending the request to the first streamed chunk (queueing included)."
    )
    engine_total_timeout_seconds: float = Field(
        default=180.0, gt=0, description="A whole answer; beyond it the stream ends with an error, text kept."
    )
    engine_retries: int = Field(
        default=2, ge=0, le=5, description="Extra attempts before the first token (never after: no double answers)."
    )
    engine_failovers: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Continuations of one answer on another replica after a failure mid-stream; 0: none (partial).",
    )
    engine_stall_seconds: float = Field(
        default=10.0,
        gt=0,
        description="No token for this long mid-answer counts as a failed replica (the answer continues elsewhere).",
    )
    finish_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long storing a finished answer is retried while sessions or its database is unavailable.",
    )
    circuit_failure_threshold: int = Field(default=5, ge=1, description="Consecutive failures that open the circuit.")
    circuit_reset_seconds: float = Field(default=15.0, gt=0, description="Open time before one probe call.")
    classifier_timeout_seconds: float = Field(
        default=3.0, gt=0, description="How long the end of a turn waits for the classifier (it never delays tokens)."
    )
    escalate_on_engine_failure: bool = Field(
        default=False,
        description="Hand the conversation to a human when the engine cannot answer (circuit open or timeout).",
    )

    # --- the degradation ladder (app.chat.ladder) ------------------------------------------------------------------
    degradation_ladder: bool = Field(
        default=False,
        description="Answer through the degradation ladder: help-centre answers without generation when saturated, "
        "the fallback model when the chat model is down, a message kept for a person when no model answers. "
        "Off: engine failures end the turn with an error problem (the level is still measured).",
    )
    degradation_ttft_slo_seconds: float = Field(
        default=0.5, gt=0, description="The TTFT SLO's target: saturation thresholds are multiples of it."
    )
    degradation_exit_ratio: float = Field(
        default=0.7, gt=0, lt=1, description="Saturated ends below this share of the entry threshold (hysteresis)."
    )
    degradation_hold_seconds: float = Field(
        default=60.0, ge=0, description="How long pressure must stay under the exit threshold to leave saturated."
    )
    degradation_window_seconds: float = Field(
        default=30.0, gt=0, description="Times to first token older than this no longer count as pressure."
    )
    fallback_model: str | None = Field(
        default=None,
        description="Served model name that answers while the chat model is down (the stack's default: the "
        "classifier's small model); empty: none, so a chat model down means everything down.",
    )
    fallback_max_model_len: int = Field(default=4096, ge=256, description="The fallback model's --max-model-len.")
    fallback_max_tokens: int = Field(default=256, ge=1, le=4096, description="Answer length cap for the fallback.")
    status_page_url: str | None = Field(
        default=None, description="The static status page linked from the everything-down message."
    )

    # --- grounding in the tenant's knowledge --------------------------------------------------------------------
    knowledge_url: str | None = Field(
        default=None,
        description="The knowledge service; unset: answers are not grounded (the assistant profile alone).",
    )
    knowledge_timeout_seconds: float = Field(
        default=5.0, gt=0, description="One retrieval (query embedding and search); beyond it: 'cannot answer'."
    )
    knowledge_passages: int = Field(default=5, ge=1, le=20, description="Passages put into a grounded prompt.")
    knowledge_token_budget: int = Field(
        default=1500, ge=100, le=16000, description="Most prompt tokens the passages may take."
    )
    pii_vault_key: SecretStr | None = Field(
        default=None,
        description="Secret the per-conversation PII vault's AES-256-GCM key is derived from (>= 32 characters); "
        "unset: no vault, so answers keep their placeholders.",
    )

    assistant_models: list[str] = Field(
        default_factory=list,
        description="Models tenant admins may choose in their profile; empty: only chat_model.",
    )

    # --- the default assistant (tenants without a profile) ------------------------------------------------------
    default_system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT)
    default_temperature: float = Field(default=0.3, ge=0, le=2)
    default_max_tokens: int = Field(default=512, ge=1, le=4096)
    profile_cache_seconds: float = Field(
        default=10.0, ge=0, description="Profiles are read per turn from this cache; a change shows within it."
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Comment lines on a silent stream so proxies do not drop it."
    )

    @field_validator("classifier_model", "knowledge_url", "fallback_model", "status_page_url", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        return None if value == "" else value
