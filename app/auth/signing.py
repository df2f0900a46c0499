"""Auth's access-token signer from settings: the configured Ed25519 key, or a fresh one in development."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.auth.settings import AuthSettings
from app.core.access_tokens import Signer, load_private_key, load_public_key
from app.core.logging import get_logger

log = get_logger(__name__)


def signer_from_settings(settings: AuthSettings) -> Signer:
    if settings.jwt_private_key is None:
        # Only reachable in development (the settings refuse it elsewhere): tokens die with the process.
        log.warning("jwt_signing_key_generated", reason="HELPLINE_JWT_PRIVATE_KEY unset in development")
        private_key = Ed25519PrivateKey.generate()
    else:
        private_key = load_private_key(settings.jwt_private_key.get_secret_value())
    retired = tuple(load_public_key(pem) for pem in settings.jwt_retired_public_keys)
    return Signer(private_key=private_key, retired_public_keys=retired)
