"""Cursors: round trips, exact timestamps, and malformed input as a 400 problem."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.ids import uuid7
from app.sessions.errors import InvalidCursorError
from app.sessions.pagination import decode_id_cursor, decode_time_cursor, encode_id_cursor, encode_time_cursor


def test_id_cursor_round_trip() -> None:
    value = uuid7()
    cursor = encode_id_cursor(value)
    assert decode_id_cursor(cursor) == value
    assert "=" not in cursor


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_time_cursor_round_trip_is_exact_to_the_microsecond(moment: datetime) -> None:
    value = uuid7()
    assert decode_time_cursor(encode_time_cursor(moment, value)) == (moment, value)


@pytest.mark.parametrize("cursor", ["", "!!!", "abc", encode_id_cursor(uuid7()) + "AA", "A" * 64])
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_id_cursor(cursor)
    with pytest.raises(InvalidCursorError):
        decode_time_cursor(cursor)
