"""Waits scale with HELPLINE_WAIT_SCALE, and a bad value is refused with what is allowed."""

from __future__ import annotations

import pytest

from app.core.waits import WAIT_SCALE_ENV, scaled


def test_default_scale_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WAIT_SCALE_ENV, raising=False)
    assert scaled(20) == 20


def test_scale_multiplies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WAIT_SCALE_ENV, "2.5")
    assert scaled(4) == 10


@pytest.mark.parametrize("value", ["fast", "0", "-1"])
def test_bad_scale_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(WAIT_SCALE_ENV, value)
    with pytest.raises(ValueError, match=WAIT_SCALE_ENV):
        scaled(1)
