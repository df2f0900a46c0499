"""Model serving: vLLM (or the simulator) per served model, the shared model cache, KEDA, and the router."""

from infra.serving.component import ModelEndpoint, Serving, ServingArgs
from infra.serving.network import PrometheusRef

__all__ = ["ModelEndpoint", "PrometheusRef", "Serving", "ServingArgs"]
