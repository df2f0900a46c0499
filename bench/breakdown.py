"""Where the full path's time to first token goes, from each process's own Prometheus metrics.

Every hop measures its own time to first token from when the request reached it: the gateway
(``helpline_time_to_first_token_seconds{service="gateway"}``), chat (``{service="chat"}``) and the engine
(``vllm:time_to_first_token_seconds``); sessions times the turn's storage call
(``helpline_http_request_duration_seconds`` on the turns route). Histogram sums and counts are read before and
after a phase, so the means cover exactly that phase. Differences of means attribute the added time: gateway
minus chat is the gateway (authentication, admission, the hop to chat), chat minus engine is chat plus the
router (profile, the stored turn, the OpenAI client, the router hop), of which the sessions call is shown apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

TURNS_ROUTE = "/internal/v1/conversations/{conversation_id}/turns"


@dataclass(frozen=True)
class Series:
    """A histogram (``name``) restricted to the samples whose labels include ``labels``."""

    name: str
    labels: Mapping[str, str]


#: What each part of the breakdown reads, and from which processes.
SERIES: dict[str, tuple[Series, tuple[str, ...]]] = {
    "gateway_ttft": (Series("helpline_time_to_first_token_seconds", {"service": "gateway"}), ("gateway",)),
    "chat_ttft": (Series("helpline_time_to_first_token_seconds", {"service": "chat"}), ("chat",)),
    "sessions_turn": (
        Series("helpline_http_request_duration_seconds", {"service": "sessions", "route": TURNS_ROUTE}),
        ("sessions",),
    ),
    "engine_ttft": (Series("vllm:time_to_first_token_seconds", {}), ("chat-engine-1", "chat-engine-2")),
}


def histogram_totals(text: str, series: Series) -> tuple[float, float]:
    """(sum, count) of a histogram's samples matching ``series`` in a Prometheus exposition."""
    total, count = 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not all(sample.labels.get(key) == value for key, value in series.labels.items()):
                continue
            if sample.name == f"{series.name}_sum":
                total += sample.value
            elif sample.name == f"{series.name}_count":
                count += sample.value
    return total, count


async def scrape(http: httpx.AsyncClient, urls: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """Every breakdown part's (sum, count), summed over its processes."""
    texts = {name: (await http.get(f"{url}/metrics")).text for name, url in urls.items()}
    totals: dict[str, tuple[float, float]] = {}
    for part, (series, processes) in SERIES.items():
        pairs = [histogram_totals(texts[process], series) for process in processes if process in texts]
        totals[part] = (sum(pair[0] for pair in pairs), sum(pair[1] for pair in pairs))
    return totals


def mean_ms(before: Mapping[str, tuple[float, float]], after: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """Mean milliseconds of each part over the interval between two scrapes (parts with no samples left out)."""
    means = {}
    for part in SERIES:
        total = after[part][0] - before[part][0]
        count = after[part][1] - before[part][1]
        if count > 0:
            means[part] = round(total / count * 1000, 2)
    return means


def attribution(means: Mapping[str, float]) -> dict[str, float]:
    """The added time by hop, from the means (see the module docstring)."""
    needed: Sequence[str] = ("gateway_ttft", "chat_ttft", "engine_ttft")
    if not all(part in means for part in needed):
        return {}
    result = {
        "gateway": round(means["gateway_ttft"] - means["chat_ttft"], 2),
        "chat_and_router": round(means["chat_ttft"] - means["engine_ttft"], 2),
    }
    if "sessions_turn" in means:
        result["of_which_sessions_turn"] = means["sessions_turn"]
    return result
