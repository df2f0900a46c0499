"""API key format and access tokens (EdDSA, RFC 7638 key ids, rotation)."""

from __future__ import annotations

import time
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.contracts.access import ROLE_SCOPES
from app.contracts.api import Role, Scope, Tier
from app.core.access_tokens import AccessTokenClaims, AccessTokenError, KeySet, Signer, public_jwk
from app.core.api_keys import KeyspaceLayout, generate_api_key, hash_api_key, is_api_key, is_well_formed_api_key

CLAIMS = AccessTokenClaims(
    sub="visitor-1",
    tenant_id=uuid4(),
    principal="end_user",
    role=Role.CUSTOMER,
    scopes=list(ROLE_SCOPES[Role.CUSTOMER]),
    key_id=uuid4(),
    tier=Tier.FREE,
)


def test_generated_keys_have_the_documented_shape() -> None:
    generated = generate_api_key()

    assert is_api_key(generated.key)
    assert is_well_formed_api_key(generated.key)
    assert len(generated.prefix) == len("hl_live_") + 8
    assert generated.key.startswith(generated.prefix + "_")
    assert generated.key_hash == hash_api_key(generated.key)
    assert len(generated.key_hash) == 64
    assert generate_api_key().key != generated.key


@pytest.mark.parametrize("key", ["hl_live_", "hl_live_ABCDEFGH_" + "a" * 52, "hl_live_abcdefgh_" + "a" * 51, "sk-123"])
def test_malformed_keys_are_recognised(key: str) -> None:
    assert not is_well_formed_api_key(key)


def test_the_redis_layout_is_shared_by_auth_and_gateway() -> None:
    key_id = uuid4()
    layout = KeyspaceLayout("hl:")

    assert layout.verified_key("ab") == "hl:key:ab"
    assert layout.key_state(key_id) == f"hl:keystate:{key_id}"


def test_key_ids_are_rfc_7638_thumbprints() -> None:
    # RFC 8037 appendix A.1/A.3: the Ed25519 test key and its thumbprint.
    private = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )

    jwk = public_jwk(private.public_key())

    assert jwk["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert jwk["kid"] == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_signed_token_verifies_against_the_published_keys() -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    token = signer.sign(CLAIMS, ttl_seconds=60)

    assert KeySet(signer.jwks()).verify(token) == CLAIMS
    assert jwt.get_unverified_header(token)["kid"] == signer.kid
    assert CLAIMS.identity().subject == "visitor-1"
    assert CLAIMS.identity().scopes == [Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE]


def test_tokens_of_a_retired_key_verify_during_a_rotation() -> None:
    old = Ed25519PrivateKey.generate()
    token = Signer(old).sign(CLAIMS, ttl_seconds=60)
    rotated = Signer(Ed25519PrivateKey.generate(), retired_public_keys=(old.public_key(),))

    assert KeySet(rotated.jwks()).verify(token) == CLAIMS


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda signer: signer.sign(CLAIMS, ttl_seconds=60, now=time.time() - 3600), "has expired"),
        (lambda _signer: Signer(Ed25519PrivateKey.generate()).sign(CLAIMS, ttl_seconds=60), "unknown key"),
        (lambda _signer: "x.y.z", "malformed"),
        (
            lambda signer: jwt.encode(
                {"sub": "x", "iss": "helpline-auth", "aud": "helpline-api", "iat": 1, "exp": 2**40},
                "a-symmetric-secret-instead-of-eddsa",
                algorithm="HS256",
                headers={"kid": signer.kid},
            ),
            "is invalid",
        ),
    ],
    ids=["expired", "unknown-key", "garbage", "algorithm-confusion"],
)
def test_bad_access_tokens_are_refused(make_token: object, message: str) -> None:
    signer = Signer(Ed25519PrivateKey.generate())

    with pytest.raises(AccessTokenError, match=message):
        KeySet(signer.jwks()).verify(make_token(signer))  # type: ignore[operator]
