"""Secrets of one local run: generated at start, handed to the children through their environment, never stored.

Every run gets its own internal token secret, access-token signing key, engine API key, fault-control token and
PII-vault key, so nothing secret is committed or reused, and the services run with the same checks as anywhere else
(the development placeholders are never needed). Tokens signed in one run are worthless in the next.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.access_tokens import private_key_pem


@dataclass(frozen=True)
class RunSecrets:
    internal_token_secret: str
    jwt_private_key_pem: str
    engine_api_key: str  # what the simulators require on /v1/* (a real vLLM's key comes from VLLM_API_KEY)
    sim_control_token: str  # enables the simulators' fault API (/sim/faults) for this run only
    pii_vault_key: str  # chat's PII vault: customers see their own details restored in answers

    def __repr__(self) -> str:  # never print a secret by accident (logs, tracebacks)
        return "RunSecrets(<redacted>)"


def generate_run_secrets() -> RunSecrets:
    return RunSecrets(
        internal_token_secret=secrets.token_urlsafe(48),
        jwt_private_key_pem=private_key_pem(Ed25519PrivateKey.generate()),
        engine_api_key=secrets.token_urlsafe(32),
        sim_control_token=secrets.token_urlsafe(32),
        pii_vault_key=secrets.token_urlsafe(36),
    )
