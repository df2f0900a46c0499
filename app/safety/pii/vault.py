"""The per-conversation vault: a conversation's placeholder map, encrypted with AES-256-GCM.

The key is derived (HKDF-SHA256) from a secret setting (``HELPLINE_PII_VAULT_KEY``, a mounted Secret), never from
config. Each write uses a fresh 96-bit nonce; the tenant and conversation ids are the associated data, so a
vault copied onto another conversation (or tenant) fails to decrypt instead of restoring someone else's values.
Where it is stored, and for how long, is ``app.chat.vault_store``'s business; this module only seals and opens.
"""

from __future__ import annotations

import os
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.safety.pii.placeholders import PlaceholderMap

NONCE_BYTES = 12
_KDF_INFO = b"helpline pii vault v1"


class VaultKeyError(Exception):
    """The vault cannot be opened with this key (rotated key, or tampered or misplaced ciphertext)."""


class VaultCipher:
    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(secret.encode())
        self._aead = AESGCM(key)

    @staticmethod
    def _associated_data(tenant_id: UUID, conversation_id: UUID) -> bytes:
        return f"{tenant_id}/{conversation_id}".encode()

    def seal(self, placeholders: PlaceholderMap, *, tenant_id: UUID, conversation_id: UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plaintext = orjson.dumps(placeholders.values)
        return nonce + self._aead.encrypt(nonce, plaintext, self._associated_data(tenant_id, conversation_id))

    def open(self, sealed: bytes, *, tenant_id: UUID, conversation_id: UUID) -> PlaceholderMap:
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, self._associated_data(tenant_id, conversation_id))
        except InvalidTag as exc:
            raise VaultKeyError("the conversation's PII vault does not open with the configured key") from exc
        return PlaceholderMap(values=dict(orjson.loads(plaintext)))
