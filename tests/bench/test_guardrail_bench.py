"""The output guardrail's TTFT figure of ``make bench``: computed the same way on a handful of answers."""

from __future__ import annotations

from bench.guardrail import measure, render


def test_the_guardrail_adds_no_held_token_to_the_simulators_answers() -> None:
    result = measure(answers=30)
    assert result["held_tokens"]["max"] == 0
    assert result["target"]["met"]
    assert "output guardrail" in render(result)
