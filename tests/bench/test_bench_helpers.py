"""The benchmark's own arithmetic: percentiles, the report and its targets, the workload, metric parsing, CPU."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time

import psutil
import pytest

from bench.breakdown import SERIES, Series, attribution, histogram_totals, mean_ms
from bench.cpu import CpuMeter, by_pid
from bench.memory import render_memory, resident_mib
from bench.report import LevelResult, PhaseResult, render_table, report_document
from bench.stats import percentile, summary_ms
from bench.workload import customer_message


def test_nearest_rank_percentiles_are_real_samples() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 99) == 5.0
    assert percentile(values, 20) == 1.0
    assert percentile(list(range(1, 101)), 99) == 99
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="rank"):
        percentile(values, 0)


def test_summaries_are_in_milliseconds() -> None:
    summary = summary_ms([0.010, 0.020, 0.030])
    assert summary["p50"] == 20.0
    assert summary["max"] == 30.0
    assert summary["mean"] == 20.0
    assert summary_ms([]) == {}


def phase(path: str, ttft_ms: list[float], seconds: float, cpu: dict[str, float]) -> PhaseResult:
    return PhaseResult(
        path=path,
        concurrency=32,
        seconds=seconds,
        ttft=[value / 1000 for value in ttft_ms],
        durations=[2.0] * len(ttft_ms),
        completion_tokens=80 * len(ttft_ms),
        errors={"gateway 429": 1} if path == "full" else {},
        cpu_seconds=cpu,
    )


def test_added_overhead_is_the_difference_of_percentiles_and_targets_are_judged() -> None:
    direct = phase("direct", [60.0, 61.0, 62.0, 63.0], seconds=1.0, cpu={"engines": 0.4, "driver": 0.1})
    full = phase("full", [64.0, 65.0, 66.0, 90.0], seconds=1.1, cpu={"engines": 0.4, "chat": 0.2, "postgres": 0.04})
    document = report_document([LevelResult(direct=direct, full=full)], {"levels": [32]}, {"cpus": 2})
    level = document["levels"][0]
    assert level["added_ttft_ms"]["p50"] == 4.0  # 65 - 61
    assert level["added_ttft_ms"]["p99"] == 27.0  # 90 - 63
    assert level["throughput_ratio"] == pytest.approx(1 / 1.1, abs=0.001)
    assert level["full"]["cpu_ms_per_turn"]["helpline"] == 150.0  # (0.4 + 0.2) s / 4 turns
    assert level["full"]["cpu_ms_per_turn"]["chat"] == 50.0
    assert level["full"]["cpu_ms_per_turn"]["data_stores"] == 10.0
    assert level["full"]["failed_turns"] == 1
    targets = document["targets"]
    assert targets["added_ttft_p50_ms"]["met"] is True
    assert targets["added_ttft_p99_ms"]["met"] is False
    assert targets["throughput_ratio"]["met"] is True
    table = render_table(document)
    assert "| 32 | full | 4 | 3.64 (91%) | 65.0 | 90.0 | 4.0 | 27.0 | 150.0 | 10.0 | 1 |" in table
    assert "added_ttft_p99_ms: 27.0 (target <= 20.0): MISSED" in table


def test_messages_are_realistic_support_messages_and_differ_by_seed() -> None:
    first = [customer_message(random.Random(f"s:{index}"), 0) for index in range(200)]
    follow = [customer_message(random.Random(f"s:{index}"), 2) for index in range(200)]
    for text in first + follow:
        assert 40 <= len(text) <= 400
    assert len(set(first)) > 150
    assert customer_message(random.Random("a"), 0) == customer_message(random.Random("a"), 0)
    assert customer_message(random.Random("direct:0"), 0) != customer_message(random.Random("full:0"), 0)


EXPOSITION = """# HELP helpline_time_to_first_token_seconds TTFT
# TYPE helpline_time_to_first_token_seconds histogram
helpline_time_to_first_token_seconds_bucket{service="gateway",model="m",le="+Inf"} 4.0
helpline_time_to_first_token_seconds_count{service="gateway",model="m"} 4.0
helpline_time_to_first_token_seconds_sum{service="gateway",model="m"} 0.4
helpline_time_to_first_token_seconds_count{service="chat",model="m"} 4.0
helpline_time_to_first_token_seconds_sum{service="chat",model="m"} 0.3
"""


def test_histogram_totals_filter_by_labels() -> None:
    gateway = Series("helpline_time_to_first_token_seconds", {"service": "gateway"})
    assert histogram_totals(EXPOSITION, gateway) == (0.4, 4.0)
    assert histogram_totals(EXPOSITION, Series("helpline_time_to_first_token_seconds", {})) == (0.7, 8.0)


def test_hop_attribution_from_means_between_two_scrapes() -> None:
    before = dict.fromkeys(SERIES, (0.0, 0.0))
    after = {
        "gateway_ttft": (0.8, 10.0),
        "chat_ttft": (0.7, 10.0),
        "sessions_turn": (0.05, 10.0),
        "engine_ttft": (0.5, 10.0),
    }
    means = mean_ms(before, after)
    assert means == {"gateway_ttft": 80.0, "chat_ttft": 70.0, "sessions_turn": 5.0, "engine_ttft": 50.0}
    assert attribution(means) == {"gateway": 10.0, "chat_and_router": 20.0, "of_which_sessions_turn": 5.0}
    assert attribution({"gateway_ttft": 1.0}) == {}


def test_cpu_meter_counts_what_a_process_burns_between_start_and_stop() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time\nprint('up', flush=True)\nwhile True: time.sleep(1)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the interpreter's own start-up CPU is spent before the meter starts
        meter = CpuMeter({"me": by_pid([psutil.Process().pid]), "idle": by_pid([child.pid])})
        meter.start()
        deadline = time.process_time() + 0.2
        while time.process_time() < deadline:  # burn 0.2 s of CPU here
            pass
        used = meter.stop()
    finally:
        child.kill()
        child.wait()
    assert used["me"] >= 0.18  # the kernel counts CPU in 10 ms clock ticks: 0.2 s can read as 0.1899...
    assert used["idle"] < 0.05


def test_resident_memory_is_read_per_process_and_tabled() -> None:
    me = psutil.Process()
    readings = resident_mib({"driver": me.pid, "gone": 2**22 + 7})
    assert set(readings) == {"driver"}
    assert 5 < readings["driver"] < 4096
    table = render_memory({"at rest": {"chat": 101.5}, "after 128": {"chat": 140.0, "gateway": 90.0}})
    assert "| chat | 101.5 | 140.0 |" in table
    assert "| gateway | - | 90.0 |" in table
