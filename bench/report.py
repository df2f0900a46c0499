"""The benchmark's results: per phase statistics, the overhead of the full path, the targets, a table.

Added overhead is computed percentile by percentile (full p50 - direct p50, full p99 - direct p99): the two
phases are separate samples, so there is no per-request pairing to subtract; both distributions are kept in
the JSON so the difference can be judged against their spread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.breakdown import attribution
from bench.stats import summary_ms

#: The Helpline service processes, each metered on its own (engines are one group).
SERVICES = ("gateway", "auth", "sessions", "chat", "router")
#: Our targets on the 2-core build machine, at 32 concurrent conversations.
TARGET_LEVEL = 32
TARGET_ADDED_TTFT_P50_MS = 5.0
TARGET_ADDED_TTFT_P99_MS = 20.0
TARGET_THROUGHPUT_RATIO = 0.8


@dataclass(frozen=True)
class PhaseResult:
    path: str  # "direct" or "full"
    concurrency: int
    seconds: float
    ttft: list[float]
    durations: list[float]
    completion_tokens: int
    errors: dict[str, int]
    cpu_seconds: dict[str, float]  # by process group: engines, each service, postgres, redis, driver
    shed: int = 0  # turns refused with 429 by admission control (retried by the client, not failures)
    breakdown_ms: dict[str, float] = field(default_factory=dict)  # full path: mean TTFT per hop (bench.breakdown)

    @property
    def turns(self) -> int:
        return len(self.durations)

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds > 0 else 0.0

    def cpu_ms_per_turn(self, *groups: str) -> float:
        if not self.turns:
            return 0.0
        return sum(self.cpu_seconds.get(group, 0.0) for group in groups) / self.turns * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "concurrency": self.concurrency,
            "turns": self.turns,
            "failed_turns": sum(self.errors.values()),
            "server_errors": sum(count for error, count in self.errors.items() if " 5" in error[:12]),
            "shed": self.shed,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "turns_per_second": round(self.turns_per_second, 3),
            "completion_tokens_per_turn": round(self.completion_tokens / self.turns, 1) if self.turns else 0,
            "ttft_ms": summary_ms(self.ttft),
            "turn_duration_ms": summary_ms(self.durations),
            "cpu_seconds": {group: round(seconds, 3) for group, seconds in self.cpu_seconds.items()},
            "cpu_ms_per_turn": {
                "helpline": round(self.cpu_ms_per_turn("engines", *SERVICES), 2),
                "engines": round(self.cpu_ms_per_turn("engines"), 2),
                "services": round(self.cpu_ms_per_turn(*SERVICES), 2),
                **{service: round(self.cpu_ms_per_turn(service), 2) for service in SERVICES},
                "data_stores": round(self.cpu_ms_per_turn("postgres", "redis"), 2),
                "driver": round(self.cpu_ms_per_turn("driver"), 2),
            },
            **(
                {"ttft_mean_ms_by_hop": self.breakdown_ms, "added_mean_ms_by_hop": attribution(self.breakdown_ms)}
                if self.breakdown_ms
                else {}
            ),
        }


@dataclass(frozen=True)
class LevelResult:
    direct: PhaseResult
    full: PhaseResult

    def as_dict(self) -> dict[str, Any]:
        direct, full = self.direct.as_dict(), self.full.as_dict()
        added = {
            rank: round(full["ttft_ms"][rank] - direct["ttft_ms"][rank], 2)
            for rank in ("p50", "p90", "p95", "p99")
            if rank in full["ttft_ms"] and rank in direct["ttft_ms"]
        }
        ratio = full["turns_per_second"] / direct["turns_per_second"] if direct["turns_per_second"] else 0.0
        return {
            "concurrency": self.direct.concurrency,
            "direct": direct,
            "full": full,
            "added_ttft_ms": added,
            "throughput_ratio": round(ratio, 3),
        }


def targets(level: dict[str, Any]) -> dict[str, Any]:
    added = level["added_ttft_ms"]
    checks = {
        "added_ttft_p50_ms": (added.get("p50"), TARGET_ADDED_TTFT_P50_MS, "<="),
        "added_ttft_p99_ms": (added.get("p99"), TARGET_ADDED_TTFT_P99_MS, "<="),
        "throughput_ratio": (level["throughput_ratio"], TARGET_THROUGHPUT_RATIO, ">="),
    }
    result = {}
    for name, (value, target, relation) in checks.items():
        met = value is not None and (value <= target if relation == "<=" else value >= target)
        result[name] = {"measured": value, "target": f"{relation} {target}", "met": met}
    return result


def report_document(
    levels: list[LevelResult],
    settings: dict[str, Any],
    environment: dict[str, Any],
    *,
    overload: PhaseResult | None = None,
) -> dict[str, Any]:
    rows = [level.as_dict() for level in levels]
    target_row = next((row for row in rows if row["concurrency"] == TARGET_LEVEL), None)
    return {
        "benchmark": "overhead",
        "settings": settings,
        "environment": environment,
        "levels": rows,
        "targets": {"concurrency": TARGET_LEVEL, **targets(target_row)} if target_row else None,
        "overload": overload.as_dict() if overload is not None else None,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_table(document: dict[str, Any]) -> str:
    """The Markdown table the README shows."""
    lines = [
        "| conversations | path | turns | turns/s | TTFT p50 ms | TTFT p99 ms | added p50 ms | added p99 ms "
        "| CPU ms/turn (Helpline) | CPU ms/turn (Postgres+Redis) | failed |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for level in document["levels"]:
        for path in ("direct", "full"):
            phase = level[path]
            added = level["added_ttft_ms"] if path == "full" else {}
            ratio = f" ({level['throughput_ratio']:.0%})" if path == "full" else ""
            lines.append(
                f"| {level['concurrency']} | {path} | {phase['turns']} | {phase['turns_per_second']:.2f}{ratio} "
                f"| {_ms(phase['ttft_ms'].get('p50'))} | {_ms(phase['ttft_ms'].get('p99'))} "
                f"| {_ms(added.get('p50'))} | {_ms(added.get('p99'))} "
                f"| {phase['cpu_ms_per_turn']['helpline']:.1f} | {phase['cpu_ms_per_turn']['data_stores']:.1f} "
                f"| {phase['failed_turns']} |"
            )
    overload = document.get("overload")
    if overload:
        lines += [
            "",
            "| customers (overload) | admitted turns | turns/s | TTFT p50 ms | TTFT p99 ms | turn p99 ms | shed (429) "
            "| failed admitted | 5xx |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {overload['concurrency']} | {overload['turns']} | {overload['turns_per_second']:.2f} "
            f"| {_ms(overload['ttft_ms'].get('p50'))} | {_ms(overload['ttft_ms'].get('p99'))} "
            f"| {_ms(overload['turn_duration_ms'].get('p99'))} | {overload['shed']} | {overload['failed_turns']} "
            f"| {overload['server_errors']} |",
        ]
    goals = document.get("targets")
    if goals:
        lines.append("")
        lines.append(f"Targets at {goals['concurrency']} concurrent conversations:")
        for name in ("added_ttft_p50_ms", "added_ttft_p99_ms", "throughput_ratio"):
            check = goals[name]
            verdict = "met" if check["met"] else "MISSED"
            lines.append(f"- {name}: {check['measured']} (target {check['target']}): {verdict}")
    return "\n".join(lines)
