"""The simulator's settings: what `vllm serve` would be told, plus the latency model only a simulator has."""

from __future__ import annotations

from dataclasses import dataclass, field

#: vLLM's default KV-cache block size (tokens per block); prefix caching hashes whole blocks of this size.
DEFAULT_BLOCK_SIZE = 16


@dataclass(frozen=True)
class LatencyModel:
    """How long things take, in seconds. Defaults approximate a 7B AWQ model on one L4 at low batch.

    Time to first token = waiting in the queue + ``ttft_base`` + ``prefill_per_token`` x uncached prompt tokens.
    Inter-token latency = ``itl_base`` + ``itl_per_running_seq`` x running sequences (decode slows as the batch
    grows, which is what makes queue-depth autoscaling and the benchmark meaningful). Every interval is
    multiplied by a seeded factor in ``[1 - jitter, 1 + jitter]``.
    """

    ttft_base: float = 0.040
    prefill_per_token: float = 0.00025
    itl_base: float = 0.025
    itl_per_running_seq: float = 0.0001
    jitter: float = 0.1

    def __post_init__(self) -> None:
        for name in ("ttft_base", "prefill_per_token", "itl_base", "itl_per_running_seq"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")


@dataclass(frozen=True)
class SimConfig:
    """Everything one simulated engine needs; built by ``cli.parse_config`` from a `vllm serve` command line."""

    model: str
    served_model_names: tuple[str, ...]
    max_model_len: int = 8192
    max_num_seqs: int = 256
    block_size: int = DEFAULT_BLOCK_SIZE
    #: KV-cache capacity in blocks: running sequences hold blocks, freed blocks stay cached (LRU) until reused.
    kv_cache_blocks: int = 16384
    enable_prefix_caching: bool = True
    #: Include ``usage.prompt_tokens_details.cached_tokens`` (vLLM's --enable-prompt-tokens-details).
    enable_prompt_tokens_details: bool = False
    api_keys: tuple[str, ...] = ()
    seed: int = 0
    latency: LatencyModel = field(default_factory=LatencyModel)
    #: Tokens in an answer that ends on its own (before max_tokens), in whole sentences.
    output_tokens: int = 80
    #: Bearer token guarding /sim/faults; the control API does not exist (404) when it is unset.
    control_token: str | None = None
    #: vLLM's --runner: "generate" serves chat and completions, "pooling" serves /v1/embeddings only.
    runner: str = "generate"

    def __post_init__(self) -> None:
        if not self.served_model_names:
            raise ValueError("at least one served model name is required")
        if self.runner not in ("generate", "pooling"):
            raise ValueError(f"runner must be generate or pooling, got {self.runner}")
        positive = ("max_model_len", "max_num_seqs", "block_size", "kv_cache_blocks", "output_tokens")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.kv_cache_blocks * self.block_size < self.max_model_len:
            # vLLM refuses to start in this case too: one full-length request could never be scheduled.
            raise ValueError(
                f"the KV cache ({self.kv_cache_blocks} blocks x {self.block_size} tokens) cannot hold one "
                f"sequence of max_model_len={self.max_model_len} tokens"
            )

    @property
    def served_model_name(self) -> str:
        """The name responses and metrics carry (vLLM uses the first of --served-model-name)."""
        return self.served_model_names[0]
