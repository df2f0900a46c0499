"""Access tokens (JWTs) for users and web-chat end users: issued by auth, verified by the gateway.

EdDSA (Ed25519) signatures: small, fast to verify, and the gateway needs only auth's public keys (JWKS), so a
compromised gateway cannot mint tokens. Each key is named by its RFC 7638 thumbprint (``kid``), so a new
signing key can be published next to the old one and tokens of both verify during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError

from app.contracts.api import Role, Scope, Tier
from app.contracts.internal import IdentityClaims

ISSUER = "helpline-auth"
AUDIENCE = "helpline-api"
ALGORITHM = "EdDSA"
LEEWAY_SECONDS = 5


class AccessTokenClaims(BaseModel):
    """The Helpline claims of an access token (registered claims iss/aud/iat/exp/jti are checked by PyJWT)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str
    tenant_id: UUID
    principal: Literal["user", "end_user"]
    role: Role
    scopes: list[Scope]
    key_id: UUID | None = None  # end users: the API key that issued the token (charged for their requests)
    tier: Tier | None = None

    def identity(self) -> IdentityClaims:
        return IdentityClaims(
            tenant_id=self.tenant_id,
            principal=self.principal,
            subject=self.sub,
            role=self.role,
            scopes=self.scopes,
            key_id=self.key_id,
            tier=self.tier,
        )


class AccessTokenError(Exception):
    """The token is not a valid access token; the message says why (safe to show the caller)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as an OKP JWK with its RFC 7638 thumbprint as ``kid``."""
    x = _b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    kid = _b64url(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": ALGORITHM}


def load_private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the JWT signing key must be an Ed25519 private key (openssl genpkey -algorithm ed25519)")
    return key


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("published verification keys must be Ed25519 public keys")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass(frozen=True)
class Signer:
    """Auth's signing key plus the retired public keys still accepted during a rotation."""

    private_key: Ed25519PrivateKey
    retired_public_keys: tuple[Ed25519PublicKey, ...] = ()

    @property
    def kid(self) -> str:
        return public_jwk(self.private_key.public_key())["kid"]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = [self.private_key.public_key(), *self.retired_public_keys]
        return {"keys": [public_jwk(key) for key in keys]}

    def sign(self, claims: AccessTokenClaims, *, ttl_seconds: int, now: float | None = None) -> str:
        issued_at = int(time.time() if now is None else now)
        payload: dict[str, Any] = claims.model_dump(mode="json", exclude_none=True)
        payload.update(iss=ISSUER, aud=AUDIENCE, iat=issued_at, exp=issued_at + ttl_seconds, jti=uuid4().hex)
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


class KeySet:
    """Verification keys by ``kid`` (the gateway's view of auth's JWKS)."""

    def __init__(self, jwks: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", ()):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
                self.keys[str(jwk["kid"])] = jwt.PyJWK.from_dict(dict(jwk), algorithm=ALGORITHM).key

    def __contains__(self, kid: str) -> bool:
        return kid in self.keys

    def verify(self, token: str) -> AccessTokenClaims:
        kid = unverified_kid(token)
        if kid not in self.keys:
            raise AccessTokenError("The access token was signed by an unknown key.")
        try:
            payload = jwt.decode(
                token,
                self.keys[kid],
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AccessTokenError("The access token has expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise AccessTokenError("The access token is invalid.") from exc
        try:
            return AccessTokenClaims.model_validate(payload)
        except ValidationError as exc:
            raise AccessTokenError("The access token's claims are malformed.") from exc


def unverified_kid(token: str) -> str | None:
    """The ``kid`` header (to pick the key; the signature is what is trusted, not this)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as exc:
        raise AccessTokenError("The access token is malformed.") from exc
    return kid if isinstance(kid, str) else None
