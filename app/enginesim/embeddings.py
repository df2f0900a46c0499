"""The simulator's ``/v1/embeddings``: vLLM's request and response shapes, and a deterministic embedding.

vLLM serves embeddings from a model started with ``--runner pooling``. The vector here is a hashed bag of
lexical features (stemmed words, word pairs, character 4-grams), signed and L2-normalised to the 384 dimensions
of all-MiniLM-L6-v2: texts that share words are close, texts that share none are near-orthogonal. Not semantic,
but enough for tests and ``make run`` to retrieve sensibly, and fully reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import struct
import time
import uuid
from typing import Any

from app.enginesim.errors import invalid_request, prompt_too_long
from app.enginesim.protocol import EmbeddingRequest
from app.enginesim.tokenizer import count_tokens

DIMENSIONS = 384
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")
_WEIGHTS = {"word": 1.0, "pair": 0.5, "gram": 0.25}


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _features(text: str) -> list[tuple[str, float]]:
    words = [_stem(w) for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS]
    features = [(f"w:{w}", _WEIGHTS["word"]) for w in words]
    features += [(f"p:{a}_{b}", _WEIGHTS["pair"]) for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f"^{word}$"
        features += [(f"g:{padded[i : i + 4]}", _WEIGHTS["gram"]) for i in range(max(1, len(padded) - 3))]
    return features


def embed(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for feature, weight in _features(text):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % DIMENSIONS
        vector[slot] += weight if digest[4] & 1 else -weight
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:  # no features (empty or only stop words): a fixed unit vector, as a model never returns zeros
        vector[0], norm = 1.0, 1.0
    return [x / norm for x in vector]


def _texts(body: EmbeddingRequest) -> list[str]:
    raw = body.input
    if isinstance(raw, str):
        return [raw]
    if not raw:
        raise invalid_request("Input cannot be empty", param="input")
    if all(isinstance(item, str) for item in raw):
        return [str(item) for item in raw]
    if all(isinstance(item, int) for item in raw):
        return [" ".join(str(token) for token in raw)]
    return [" ".join(str(token) for token in item) for item in raw if isinstance(item, list)]


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def embeddings_response(body: EmbeddingRequest, *, model: str, max_model_len: int) -> dict[str, Any]:
    if body.dimensions is not None and body.dimensions != DIMENSIONS:
        raise invalid_request(f"Model does not support matryoshka representation, dimensions={body.dimensions}")
    texts = _texts(body)
    data: list[dict[str, Any]] = []
    prompt_tokens = 0
    for index, text in enumerate(texts):
        tokens = count_tokens(text) + 2  # [CLS] and [SEP]
        if tokens > max_model_len:  # vLLM 0.32's pooling runner refuses it as it refuses a long chat prompt
            raise prompt_too_long(max_model_len=max_model_len, prompt_tokens=tokens)
        prompt_tokens += tokens
        data.append({"index": index, "object": "embedding", "embedding": _encoded(embed(text), body.encoding_format)})
    return {
        "id": f"embd-{uuid.uuid4().hex}",
        "object": "list",
        "created": int(time.time()),
        "model": model,
        "data": data,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens,
            "completion_tokens": 0,
            "prompt_tokens_details": None,
        },
    }
