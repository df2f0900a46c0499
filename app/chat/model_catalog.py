"""The models clients see: one stable public name per model, whatever the engine serves it as.

Locally the simulator serves ``helpline-chat``; in a cluster vLLM serves e.g. ``qwen2.5-7b-instruct``. Client code
written against ``make run`` must work unchanged against the cluster, so the OpenAI-compatible surface speaks
public names only: ``GET /v1/models`` lists them, a request's ``model`` is mapped to the served name on the way
in, and every ``"model"`` the engine writes back is mapped to the public name on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.chat.settings import ChatSettings

#: Unix time the public names were introduced: ``created`` of every listed model (a stable value, not "now").
PUBLIC_MODELS_CREATED = 1_796_601_600  # 2026-12-07
OWNER = "helpline"


@dataclass(frozen=True)
class ModelCatalog:
    #: public name -> served name, in listing order (the default chat model first).
    served_by_public: dict[str, str]
    max_model_len: int

    @classmethod
    def from_settings(cls, settings: ChatSettings) -> ModelCatalog:
        mapping = {settings.public_chat_model: settings.chat_model}
        for model in settings.assistant_models:  # further assistants keep their served name as the public one
            mapping.setdefault(model, model)
        return cls(served_by_public=mapping, max_model_len=settings.max_model_len)

    def served_name(self, public_name: str) -> str | None:
        return self.served_by_public.get(public_name)

    def listing(self) -> dict[str, Any]:
        """``GET /v1/models`` in OpenAI's shape (plus vLLM's ``max_model_len``)."""
        return {
            "object": "list",
            "data": [
                {
                    "id": public,
                    "object": "model",
                    "created": PUBLIC_MODELS_CREATED,
                    "owned_by": OWNER,
                    "max_model_len": self.max_model_len,
                }
                for public in self.served_by_public
            ],
        }


def model_field_rewriter(served: str, public: str) -> tuple[bytes, bytes] | None:
    """The (served, public) byte pair to replace in the engine's JSON, or None when the names agree.

    vLLM writes compact JSON (``"model":"<name>"``); names are validated ``[A-Za-z0-9._-]``, so no escaping."""
    if served == public:
        return None
    return f'"model":"{served}"'.encode(), f'"model":"{public}"'.encode()
