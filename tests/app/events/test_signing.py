"""Webhook signatures: what a receiver accepts, and what it must refuse."""

from __future__ import annotations

import pytest

from app.events.signing import InvalidSignatureError, sign, verify

SECRET = "whsec_test"
BODY = b'{"id":"e1","type":"conversation.resolved"}'


def test_a_fresh_signature_verifies() -> None:
    header = sign(SECRET, BODY, timestamp=1_000_000)
    assert header.startswith("t=1000000,v1=")
    verify(SECRET, header, BODY, now=1_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        ("whsec_other", BODY, 1_000_010, "does not match"),
        (SECRET, BODY + b" ", 1_000_010, "does not match"),
        (SECRET, BODY, 1_000_000 + 301, "replay window"),
        (SECRET, BODY, 1_000_000 - 301, "replay window"),
    ],
)
def test_a_wrong_key_a_changed_body_or_an_old_timestamp_is_refused(
    secret: str, body: bytes, now: int, reason: str
) -> None:
    with pytest.raises(InvalidSignatureError, match=reason):
        verify(secret, sign(SECRET, BODY, timestamp=1_000_000), body, now=now)


def test_a_malformed_header_is_refused() -> None:
    for header in ("", "v1=abc", "t=x,v1=abc", "t=1"):
        with pytest.raises(InvalidSignatureError):
            verify(SECRET, header, BODY, now=1)
