"""GCP resource names derived from the stack, fitted into GCP's tighter limits.

``Naming.resource`` allows 63 characters, but a service account id may have at most 30 and a bucket name is
global across every GCP customer. These helpers keep names readable and deterministic, and shorten a long
stack name with a hash instead of failing, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re

from infra.naming import Naming

#: IAM service account ids: 6-30 characters, lower-case letters, digits and '-', starting with a letter.
SERVICE_ACCOUNT_ID_MAX = 30
#: Cloud Storage bucket names (without dots): 3-63 characters.
BUCKET_NAME_MAX = 63
_HASH_LENGTH = 6
_SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")


def fit_name(name: str, limit: int) -> str:
    """``name`` itself when it fits; otherwise its head plus a short hash of the whole name."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    head = name[: limit - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"


def service_account_id(naming: Naming, role: str) -> str:
    """``helpline-dev-nodes``: the account id of a Google service account this stack owns."""
    account = fit_name(f"{naming.prefix}-{role}", SERVICE_ACCOUNT_ID_MAX)
    if not _SERVICE_ACCOUNT_ID.match(account):
        raise ValueError(f"{account!r} is not a valid service account id (6-30 of [a-z0-9-], starting with a letter)")
    return account


def model_bucket_name(naming: Naming, project: str) -> str:
    """Bucket names are global: the project id (unique across GCP) makes ours unique without a random suffix."""
    return fit_name(f"{naming.prefix}-models-{project}", BUCKET_NAME_MAX)


def kms_key_ring_id(project: str, location: str, key_ring: str) -> str:
    """The id a KMS key ring has once it exists (what ``KeyRing.id`` holds)."""
    return f"projects/{project}/locations/{location}/keyRings/{key_ring}"


def kms_crypto_key_id(key_ring_id: str, key: str) -> str:
    """The id GKE, Compute Engine and IAM take for a KMS key (what ``CryptoKey.id`` holds)."""
    return f"{key_ring_id}/cryptoKeys/{key}"
