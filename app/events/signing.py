"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, with a replay window.

Header ``Helpline-Signature: t=<unix seconds>,v1=<hex>`` where ``v1 = HMAC_SHA256(secret, f"{t}.{body}")``.
A receiver recomputes it, compares in constant time, and refuses a ``t`` outside its window (default 5
minutes), so a captured request cannot be replayed later. Same scheme as Stripe's, which receivers know.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Helpline-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignatureError(ValueError):
    """The signature is missing, malformed, wrong, or outside the replay window."""


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise ``InvalidSignatureError`` unless ``header`` signs ``body`` with ``secret`` within the window."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        moment = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError) as exc:
        raise InvalidSignatureError("malformed signature header") from exc
    current = time.time() if now is None else now
    if abs(current - moment) > tolerance_seconds:
        raise InvalidSignatureError("timestamp outside the replay window")
    expected = sign(secret, body, timestamp=moment).split(",v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise InvalidSignatureError("signature does not match")
