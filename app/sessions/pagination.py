"""Opaque pagination cursors: the sort key of the last item a page returned.

Keyset pagination (``WHERE key > cursor ORDER BY key LIMIT n``) stays fast on any page and never skips or
repeats an item when rows are added meanwhile, unlike offsets. The cursor is base64url so clients treat it as
opaque; a malformed one is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import struct
from datetime import UTC, datetime, timedelta
from uuid import UUID

from app.sessions.errors import InvalidCursorError

_TIMESTAMP = struct.Struct(">q")  # microseconds since the epoch
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(cursor: str, length: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursorError("The cursor is malformed; pass next_cursor from the previous page.") from exc
    if len(raw) != length:
        raise InvalidCursorError("The cursor is malformed; pass next_cursor from the previous page.")
    return raw


def encode_id_cursor(last_id: UUID) -> str:
    return _encode(last_id.bytes)


def decode_id_cursor(cursor: str) -> UUID:
    return UUID(bytes=_decode(cursor, 16))


def encode_time_cursor(moment: datetime, last_id: UUID) -> str:
    delta = moment - EPOCH  # exact integer microseconds: a float timestamp could be off by one and skip a row
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return _encode(_TIMESTAMP.pack(micros) + last_id.bytes)


def decode_time_cursor(cursor: str) -> tuple[datetime, UUID]:
    raw = _decode(cursor, _TIMESTAMP.size + 16)
    (micros,) = _TIMESTAMP.unpack(raw[: _TIMESTAMP.size])
    try:
        moment = EPOCH + timedelta(microseconds=micros)
    except OverflowError as exc:
        raise InvalidCursorError("The cursor is malformed; pass next_cursor from the previous page.") from exc
    return moment, UUID(bytes=raw[_TIMESTAMP.size :])
