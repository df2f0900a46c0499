"""The shape of a model that decides its memory: layers, KV heads, head size, parameters and their storage.

A committed table covers the models the stacks serve and the published reference points; any other model is
read from its Hugging Face ``config.json`` (in the model cache, or a path given to ``make capacity``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Bytes per stored weight by quantization method (4-bit methods keep per-group scales: ~0.53 byte per weight).
WEIGHT_BYTES = {
    None: 2.0,
    "none": 2.0,
    "awq": 0.53,
    "awq_marlin": 0.53,
    "gptq": 0.53,
    "gptq_marlin": 0.53,
    "fp8": 1.0,
    "w8a8": 1.0,
    "compressed-tensors": 1.0,
}
#: Bytes per KV-cache element: vLLM keeps the KV cache in the activation dtype (fp16/bf16) unless told otherwise.
KV_ELEMENT_BYTES = 2


@dataclass(frozen=True)
class ModelArchitecture:
    """What the planner needs of a checkpoint; numbers as in the model's ``config.json``."""

    name: str
    num_layers: int
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    #: total parameters, embeddings included
    parameters: float
    vocab_size: int
    #: one matrix serves as input embedding and LM head
    tie_word_embeddings: bool = False
    #: quantization of the stored weights (``None``: 16-bit)
    quantization: str | None = None

    @property
    def kv_bytes_per_token(self) -> int:
        """Keys and values of every layer for one token: 2 x layers x KV heads x head size x element bytes."""
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim * KV_ELEMENT_BYTES

    @property
    def embedding_parameters(self) -> float:
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)

    @property
    def weight_bytes(self) -> float:
        """Weights as loaded: quantization methods keep the embeddings and the LM head in 16 bits."""
        if self.quantization not in WEIGHT_BYTES:
            known = ", ".join(sorted(str(name) for name in WEIGHT_BYTES))
            raise ValueError(f"{self.name}: unknown quantization {self.quantization!r}; known: {known}")
        quantized = self.parameters - self.embedding_parameters
        return self.embedding_parameters * KV_ELEMENT_BYTES + quantized * WEIGHT_BYTES[self.quantization]

    @property
    def activation_bytes_per_batched_token(self) -> int:
        """Peak activation memory per token of one scheduler step (vLLM profiles a full step at start-up).

        The MLP's gate and up projections (2 x intermediate) and a handful of hidden-size buffers dominate;
        6 x hidden matches the peaks vLLM logs for Llama-class models within a few percent (docs/capacity.md).
        """
        return (2 * self.intermediate_size + 6 * self.hidden_size) * KV_ELEMENT_BYTES


def from_config_json(path: Path, *, parameters: float, quantization: str | None = None) -> ModelArchitecture:
    """A model's architecture from its ``config.json`` (parameters are not in it: the caller states them)."""
    config: dict[str, Any] = json.loads(path.read_text())
    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    method = (config.get("quantization_config") or {}).get("quant_method", quantization)
    return ModelArchitecture(
        name=str(config.get("_name_or_path") or path.parent.name),
        num_layers=int(config["num_hidden_layers"]),
        hidden_size=hidden,
        intermediate_size=int(config["intermediate_size"]),
        num_attention_heads=heads,
        num_kv_heads=int(config.get("num_key_value_heads", heads)),
        head_dim=int(config.get("head_dim") or hidden // heads),
        parameters=parameters,
        vocab_size=int(config["vocab_size"]),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
        quantization=method,
    )


#: Models the stacks serve by default, and those of the published reference points (tests/infra/test_capacity.py).
#: Shapes copied from each repository's config.json; parameters from its model card.
KNOWN_MODELS: dict[str, ModelArchitecture] = {
    model.name: model
    for model in (
        ModelArchitecture("Qwen/Qwen2.5-7B-Instruct-AWQ", 28, 3584, 18944, 28, 4, 128, 7.62e9, 152064, False, "awq"),
        ModelArchitecture("Qwen/Qwen2.5-7B-Instruct", 28, 3584, 18944, 28, 4, 128, 7.62e9, 152064),
        ModelArchitecture("Qwen/Qwen2.5-1.5B-Instruct", 28, 1536, 8960, 12, 2, 128, 1.54e9, 151936, True),
        ModelArchitecture("Qwen/Qwen2.5-14B-Instruct-AWQ", 48, 5120, 13824, 40, 8, 128, 14.7e9, 152064, False, "awq"),
        ModelArchitecture("meta-llama/Llama-3.1-8B-Instruct", 32, 4096, 14336, 32, 8, 128, 8.03e9, 128256),
        ModelArchitecture("meta-llama/Llama-2-7b-hf", 32, 4096, 11008, 32, 32, 128, 6.74e9, 32000),
        ModelArchitecture("mistralai/Mistral-7B-Instruct-v0.3", 32, 4096, 14336, 32, 8, 128, 7.25e9, 32768),
    )
}


def known_model(model_id: str) -> ModelArchitecture | None:
    return KNOWN_MODELS.get(model_id)
