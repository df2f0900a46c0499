"""PII building blocks without any service: placeholders, the vault's encryption, the log scrubber."""

from __future__ import annotations

import io
import json
import logging
import sys
from uuid import uuid4

import pytest

from app.core.log_redaction import scrub_text
from app.core.logging import configure_logging, get_logger
from app.safety.pii.placeholders import PlaceholderMap, redact
from app.safety.pii.vault import VaultCipher, VaultKeyError

SECRET = "a-vault-secret-of-at-least-32-characters!"


def test_placeholders_are_numbered_in_reading_order_and_kept_across_messages() -> None:
    placeholders = PlaceholderMap()
    first = redact("My name is Dana Whitfield, mail a@example.com or b@example.org", placeholders)
    assert first.text == "My name is <PERSON_1>, mail <EMAIL_1> or <EMAIL_2>"
    second = redact("Dana Whitfield again, still b@example.org", placeholders)
    assert second.text == "<PERSON_1> again, still <EMAIL_2>"
    assert placeholders.restore("Hello <PERSON_1>, we wrote to <EMAIL_2>. <EMAIL_9>") == (
        "Hello Dana Whitfield, we wrote to b@example.org. <EMAIL_9>"
    )


def test_cards_are_luhn_checked() -> None:
    assert redact("card 4111 1111 1111 1111", PlaceholderMap()).text == "card <CARD_1>"
    assert redact("order 4111 1111 1111 1112", PlaceholderMap()).text == "order 4111 1111 1111 1112"


def test_the_vault_opens_only_for_its_own_conversation_and_key() -> None:
    tenant, conversation = uuid4(), uuid4()
    placeholders = PlaceholderMap({"<EMAIL_1>": "dana@example.com"})
    sealed = VaultCipher(SECRET).seal(placeholders, tenant_id=tenant, conversation_id=conversation)
    assert b"dana@example.com" not in sealed
    assert VaultCipher(SECRET).open(sealed, tenant_id=tenant, conversation_id=conversation) == placeholders
    with pytest.raises(VaultKeyError):
        VaultCipher(SECRET).open(sealed, tenant_id=tenant, conversation_id=uuid4())
    with pytest.raises(VaultKeyError):
        VaultCipher(SECRET + "x").open(sealed, tenant_id=tenant, conversation_id=conversation)


def test_the_log_scrubber_keeps_ids_and_removes_pii() -> None:
    text = "to dana@example.com card 4111-1111-1111-1111 iban GB82 WEST 1234 5698 7654 32 from 81.2.69.160 via 10.0.0.5"
    assert scrub_text(text) == "to [EMAIL] card [CARD] iban [IBAN] from [IP] via 10.0.0.5"
    assert scrub_text("took 12 ms, order 48213, v0.32.0") == "took 12 ms, order 48213, v0.32.0"


def test_no_log_line_carries_pii_even_in_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    configure_logging("test", log_message_text=True)
    log = get_logger("test")
    log.info("customer wrote", content="call +44 20 7946 0958", detail="mail dana@example.com")
    try:
        raise ValueError("bad card 4111 1111 1111 1111")
    except ValueError:
        log.exception("failed")
    logging.getLogger("stdlib").warning("from stdlib: dana@example.com")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    rendered = out.getvalue()
    assert len(lines) == 3
    for value in ("7946 0958", "dana@example.com", "4111 1111"):
        assert value not in rendered
    assert lines[0]["content"] == "call [PHONE]"
