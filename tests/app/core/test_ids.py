"""UUIDv7: RFC 9562 layout, time order, strict order within one millisecond."""

from __future__ import annotations

from app.core.ids import new_request_id, uuid7, uuid7_timestamp_ms


def test_layout_is_rfc_9562_version_7() -> None:
    value = uuid7(now_ms=1_700_000_000_000)

    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert uuid7_timestamp_ms(value) >= 1_700_000_000_000


def test_ids_made_in_the_same_millisecond_are_strictly_increasing() -> None:
    now = 4_000_000_000_000  # in the future: the generator's state is ahead of any real clock reading after
    ids = [uuid7(now_ms=now) for _ in range(1000)]

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(uuid7_timestamp_ms(value) >= now for value in ids)


def test_a_clock_going_backwards_never_makes_ids_go_backwards() -> None:
    later = uuid7(now_ms=4_100_000_000_000)
    earlier_clock = uuid7(now_ms=4_000_000_000_000)

    assert earlier_clock > later


def test_request_ids_are_32_hex_characters() -> None:
    request_id = new_request_id()

    assert len(request_id) == 32
    int(request_id, 16)
