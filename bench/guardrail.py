"""The output guardrail's added time to first token: what ``AnswerFilter`` (the guard, then placeholders restored)
adds before the customer sees the answer's first text, against the same filter with the guardrail off.

Two parts add up, per answer:

- **held tokens**: the guard releases nothing until a word is whole (the first word at once when it is letters
  only); each engine token it waits for costs one inter-token interval of the engine;
- **CPU**: the filter's own work on every piece up to the first release, timed (``perf_counter``), minus the
  unguarded filter's on the same pieces.

The answers are the engine simulator's own (``app.enginesim.answers``, its tokenizer's pieces: what chat receives
per SSE chunk) to the benchmark's customer messages, in a conversation whose vault holds the customer's email and
phone (so restoring is part of the cost), with chat's default system prompt. In-process and deterministic: it
runs in a second, not minutes, and the figure does not depend on the load of the machine the way a full-path
TTFT difference of a few milliseconds would.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from app.chat.safety import AnswerFilter, Inbound, TurnSafety
from app.chat.settings import DEFAULT_SYSTEM_PROMPT
from app.contracts.api import AssistantProfile
from app.contracts.safety import GuardrailPolicy, SafetyPolicy
from app.enginesim.answers import compose_answer, visible
from app.enginesim.config import LatencyModel
from app.safety.pii.placeholders import PlaceholderMap
from bench.stats import summary_ms
from bench.workload import customer_message

TARGET_ADDED_TTFT_P50_MS = 10.0
ANSWERS = 400
#: Repeats per answer: the CPU part is the minimum of these (timer noise and preemption only ever add).
REPEATS = 5


def _inbound(check_output: bool) -> Inbound:
    placeholders = PlaceholderMap(values={"<EMAIL_1>": "dana@example.com", "<PHONE_1>": "+44 20 7946 0958"})
    policy = SafetyPolicy(guardrails=GuardrailPolicy(check_output=check_output))
    return Inbound(policy=policy, placeholders=placeholders, content="", verdict=None)


def first_release(pieces: list[str], filter_: AnswerFilter) -> tuple[int, float]:
    """How many pieces were fed before the first non-empty release, and the filter's CPU time until then (s)."""
    started = time.perf_counter()
    for count, piece in enumerate(pieces, start=1):
        if filter_.feed(piece):
            return count, time.perf_counter() - started
    filter_.finish()
    return len(pieces), time.perf_counter() - started


def measure(answers: int = ANSWERS, seed: int = 7) -> dict[str, Any]:
    profile = AssistantProfile(system_prompt=DEFAULT_SYSTEM_PROMPT, model="chat")
    rng = random.Random(seed)
    itl = LatencyModel().itl_base
    added: list[float] = []
    cpu: list[float] = []
    held: list[int] = []
    for number in range(answers):
        message = customer_message(rng, number % 4)
        completion = compose_answer(message, rng, natural_tokens=80, limit=512)
        pieces = [visible(token) for token in completion.tokens if visible(token)]
        guarded_cpu = plain_cpu = float("inf")
        count = 1
        for _ in range(REPEATS):
            count, seconds = first_release(pieces, TurnSafety.answer_filter(_inbound(True), profile))
            guarded_cpu = min(guarded_cpu, seconds)
            _, seconds = first_release(pieces, TurnSafety.answer_filter(_inbound(False), profile))
            plain_cpu = min(plain_cpu, seconds)
        extra_cpu = max(0.0, guarded_cpu - plain_cpu)
        held.append(count - 1)
        cpu.append(extra_cpu)
        added.append((count - 1) * itl + extra_cpu)
    p50 = summary_ms(added)["p50"]
    return {
        "answers": answers,
        "inter_token_seconds": itl,
        "added_ttft_ms": summary_ms(added),
        "cpu_ms": summary_ms(cpu),
        "held_tokens": {"mean": sum(held) / len(held), "max": max(held), "none_held_share": held.count(0) / len(held)},
        "target": {
            "added_ttft_p50_ms": TARGET_ADDED_TTFT_P50_MS,
            "measured": p50,
            "met": p50 < TARGET_ADDED_TTFT_P50_MS,
        },
    }


def render(result: dict[str, Any]) -> str:
    added, cpu, held = result["added_ttft_ms"], result["cpu_ms"], result["held_tokens"]
    target = result["target"]
    return "\n".join(
        [
            "| output guardrail | answers | added TTFT p50 ms | added TTFT p99 ms | CPU p50 ms | CPU p99 ms "
            "| tokens held (mean / max) | answers with none held |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| on vs off | {result['answers']} | {added['p50']:.3f} | {added['p99']:.3f} | {cpu['p50']:.3f} "
            f"| {cpu['p99']:.3f} | {held['mean']:.2f} / {held['max']} | {held['none_held_share']:.0%} |",
            "",
            f"- output guardrail added_ttft_p50_ms: {target['measured']:.3f} (target < {target['added_ttft_p50_ms']}): "
            + ("met" if target["met"] else "MISSED"),
        ]
    )


def main() -> int:
    print(render(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
