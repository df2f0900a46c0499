"""The last line of defence for "PII never in logs": every rendered log line's strings are scrubbed of what looks
like an email, a payment card (Luhn-checked), an IBAN, a phone number, a US SSN or UK NI number, or a public
IP address, whatever field or exception message it hides in.

Plain regexes, not the Presidio analyzer the chat path uses: this runs on every log line of every service, must
cost microseconds, and must not pull spaCy into the gateway. It is a net under the rule that message text is
never logged (``logging.drop_message_text``), not a replacement for it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from structlog.typing import EventDict, WrappedLogger

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_NATIONAL_ID = re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_PHONE = re.compile(r"(?<![\w-])\+?(?:\(\d{1,4}\)|\d{1,4})(?:[ .-]?\d{2,4}){2,5}(?![\w-])")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_MIN_PHONE_DIGITS = 9


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD]" if _luhn_ok(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group(0))
    return "[PHONE]" if digits >= _MIN_PHONE_DIGITS else match.group(0)


def _public_ip(match: re.Match[str]) -> str:
    try:
        address = ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[IP]" if address.is_global else match.group(0)  # pod, loopback and private addresses stay readable


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, "[EMAIL]"),
    (_IBAN, "[IBAN]"),
    (_CARD, _card),
    (_NATIONAL_ID, "[NATIONAL_ID]"),
    (_IPV4, _public_ip),
    (_PHONE, _phone),
)


def find_pii_shaped(text: str) -> list[str]:
    """The PII-shaped substrings of ``text`` (what ``scrub_text`` would replace); the output guardrail uses it."""
    found: list[str] = []
    for pattern, replacement in _RULES:
        for match in pattern.finditer(text):
            if isinstance(replacement, str) or replacement(match) != match.group(0):
                found.append(match.group(0))
    return found


def scrub_text(text: str) -> str:
    """``text`` with anything that looks like PII replaced by its kind in brackets."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


#: Fields whose values are ids or times the patterns could misread (a UUID's digit groups, an ISO timestamp).
_TRUSTED_FIELDS = frozenset({"timestamp", "trace_id", "span_id", "request_id", "tenant_id", "conversation_id"})


def scrub_pii(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """structlog processor: runs after exceptions are formatted, just before rendering."""
    for key, value in event.items():
        if key not in _TRUSTED_FIELDS:
            event[key] = _scrub(value)
    return event
