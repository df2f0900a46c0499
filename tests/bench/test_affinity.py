"""The affinity scenario of ``make bench``, run small on real simulator and router processes.

Hit rates are counts of cached tokens (no clock in them), so the comparison holds on a loaded machine: a
conversation kept on its replica reuses its history; spread turn by turn over replicas, it mostly does not.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.affinity import AffinitySettings, WayResult, bench, counter_total, render_table

EXPOSITION = """\
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="helpline-chat"} 120.0
vllm:prefix_cache_hits_total{engine="1",model_name="helpline-chat"} 30.0
"""


def test_counters_are_summed_over_label_sets() -> None:
    assert counter_total(EXPOSITION, "vllm:prefix_cache_hits_total") == 150.0
    assert counter_total(EXPOSITION, "vllm:prefix_cache_queries_total") == 0.0


def test_a_way_without_queries_has_no_hit_rate() -> None:
    result = WayResult("single", 1, 0, 0, prefix_cache_queries=0, prefix_cache_hits=0, ttft_ms={}, seconds=0)
    assert result.hit_rate == 0.0


def test_the_router_keeps_conversations_on_their_replica_and_round_robin_does_not(tmp_path: Path) -> None:
    settings = AffinitySettings(
        replicas=2, conversations=4, turns_per_conversation=4, max_tokens=12, max_seconds=120, out_dir=tmp_path
    )
    document = asyncio.run(bench(settings))

    ways = {way["way"]: way for way in document["ways"]}
    assert [way["failed"] for way in ways.values()] == [0, 0, 0]
    assert all(way["turns"] == 16 for way in ways.values())
    assert ways["router"]["hit_rate"] > ways["round-robin"]["hit_rate"]
    assert document["router_hit_rate_vs_single"] > document["round_robin_hit_rate_vs_single"]
    assert "| router | 2 | 16 | 0 |" in render_table(document)
